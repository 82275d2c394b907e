/**
 * How many runnable threads on this machine belong to other work than this test: sampled from
 * Linux's /proc every few hundred milliseconds over a window, rather than read from the one-minute
 * load average, which lags by a minute and counts this test's own processes too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** Parent pid of every process (from /proc/<pid>/stat; the command name may hold spaces and parentheses). */
function parentsOf(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process has exited since the listing.
    }
  }
  return parents;
}

/** `root` and all its descendants. */
function treeOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parentsOf()) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}

/** Threads of `pids` that are running or waiting for a core (state R). */
function runningThreadsOf(pids: number[]): number {
  let running = 0;
  for (const pid of pids) {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        if (stat[stat.lastIndexOf(')') + 2] === 'R') running++;
      }
    } catch {
      // The process or thread has exited since the listing.
    }
  }
  return running;
}

/** Runnable threads machine-wide right now (the fourth field of /proc/loadavg: running/total). */
function runnableNow(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[3].split('/')[0]);
}

export interface ContentionSampler {
  /** Stops sampling; the mean over the samples of the runnable threads outside this process tree. */
  stop(): number;
}

/**
 * Starts sampling the runnable threads that are not this process or its descendants (the local
 * agents, the emulator). Off Linux, the one-minute load average at start and stop stands in.
 */
export function sampleOtherRunnable(everyMs = 250): ContentionSampler {
  if (process.platform !== 'linux') {
    const start = loadavg()[0];
    return { stop: () => (start + loadavg()[0]) / 2 };
  }
  const samples: number[] = [];
  let tree = treeOf(process.pid);
  let treeAt = Date.now();
  const sample = () => {
    if (Date.now() - treeAt > 2000) [tree, treeAt] = [treeOf(process.pid), Date.now()];
    samples.push(Math.max(0, runnableNow() - runningThreadsOf(tree)));
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return samples.reduce((a, b) => a + b, 0) / samples.length;
    },
  };
}

/** CPU seconds (user + system) used so far by this process's descendants, grouped by `groupOf(command line)`. */
export function descendantCpuSeconds(groupOf: (cmdline: string) => string): Map<string, number> {
  const out = new Map<string, number>();
  const ticks = 100; // USER_HZ on Linux
  if (process.platform !== 'linux') return out;
  for (const pid of treeOf(process.pid).slice(1)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the state on: utime and stime are the 12th and 13th
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const group = groupOf(cmdline);
      out.set(group, (out.get(group) ?? 0) + (Number(fields[11]) + Number(fields[12])) / ticks);
    } catch {
      // exited
    }
  }
  return out;
}
