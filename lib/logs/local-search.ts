/**
 * Searches the log files of a local environment (`shardline local up`): each agent's
 * `agents/<node>/agent.log` and the in-process chunker's `chunker.log`, merged in time order.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CHUNKER_LOG_FILE, readLocalState, type LocalState } from '../aws/local-state';
import { searchLogFile, type FileSearchOptions } from './file-search';
import type { LogQuery } from './query';
import { mostRecent, type LogRecord, type LogSource } from './record';

/** The node name that records of the chunker's log carry. */
export const CHUNKER_NODE = 'chunker';

/** A log file and who writes it. */
export interface LogFileSource extends LogSource {
  readonly path: string;
}

/** What a search found and what it cost (for the summary line and the benchmark). */
export interface LogSearchResult {
  /** The most recent `limit` matches, oldest first. */
  readonly records: LogRecord[];
  /** True when more matches may exist beyond `limit`. */
  readonly truncated: boolean;
  readonly sources: number;
  readonly bytesRead: number;
  readonly linesParsed: number;
}

/**
 * The log files of the local environment in `stateDir`: the agents listed in `local.json` and the
 * chunker's log, plus any `agents/<node>/agent.log` left by agents no longer listed (an earlier
 * run with more agents). Files that do not exist are left out.
 */
export async function localLogSources(stateDir = '.shardline'): Promise<LogFileSource[]> {
  const dir = resolve(stateDir);
  const state: Partial<LocalState> = await readLocalState(dir).catch((err: Error) => {
    if (/no local environment found/.test(err.message)) return {};
    throw err;
  });
  const candidates: LogFileSource[] = (state.agents ?? []).map((a) => ({ path: a.logFile, label: a.logFile, node: a.nodeId }));
  const agentsDir = join(dir, 'agents');
  for (const node of await readdir(agentsDir).catch(() => [] as string[])) {
    const path = join(agentsDir, node, 'agent.log');
    if (!candidates.some((c) => resolve(c.path) === path)) candidates.push({ path, label: path, node });
  }
  const chunkerLog = state.chunkerLogFile ?? join(dir, CHUNKER_LOG_FILE);
  candidates.push({ path: chunkerLog, label: chunkerLog, node: CHUNKER_NODE });
  const present = await Promise.all(
    candidates.map((c) =>
      stat(c.path).then(
        (s) => s.isFile(),
        () => false,
      ),
    ),
  );
  return candidates.filter((_, i) => present[i]);
}

/** Searches `sources` and merges their matches: the `query.limit` most recent, oldest first. */
export async function searchLogFiles(sources: LogFileSource[], query: LogQuery, opts: FileSearchOptions = {}): Promise<LogSearchResult> {
  const results = await Promise.all(sources.map((s) => searchLogFile(s.path, s, query, opts)));
  const all = results.flatMap((r) => r.records);
  return {
    records: mostRecent(all, query.limit),
    truncated: all.length >= query.limit,
    sources: sources.length,
    bytesRead: results.reduce((n, r) => n + r.bytesRead, 0),
    linesParsed: results.reduce((n, r) => n + r.linesParsed, 0),
  };
}

/** Searches the local environment's logs; an error names the state directory when it has none. */
export async function searchLocalLogs(stateDir: string, query: LogQuery, opts: FileSearchOptions = {}): Promise<LogSearchResult> {
  const sources = await localLogSources(stateDir);
  if (sources.length === 0) throw new Error(`no log files under ${resolve(stateDir)} (start a local environment with 'npx shardline local up')`);
  return searchLogFiles(sources, query, opts);
}
