import { parseSize } from '../../lib/units';
import { runChaos, type ChaosReport } from '../../local/chaos';

/** `shardline local chaos`: runs the fault-injection harness and prints its report. */
export async function chaosCommand(opts: {
  agents: number;
  kill: number;
  pause: number;
  pauseMs: number;
  leave?: number;
  join?: number;
  restartAfterMs?: number;
  slowMs?: number;
  size: string;
  chunkSize: string;
  endpoint?: string;
  stateDir: string;
}): Promise<boolean> {
  const report = await runChaos({
    agents: opts.agents,
    kill: opts.kill,
    pause: opts.pause,
    pauseMs: opts.pauseMs,
    leave: opts.leave,
    join: opts.join,
    restartAfterMs: opts.restartAfterMs,
    slowMs: opts.slowMs,
    sizeBytes: parseSize(opts.size),
    chunkSizeBytes: parseSize(opts.chunkSize),
    stateDir: opts.stateDir,
    endpoint: opts.endpoint,
    log: (line) => console.log(`[chaos] ${line}`),
  });
  console.log(renderChaosReport(report));
  return report.problems.length === 0;
}

/** `shardline local chaos` as the CLI runs it: exit code 1 when the report names a problem. */
export async function chaos(opts: Parameters<typeof chaosCommand>[0]): Promise<void> {
  process.exitCode = (await chaosCommand(opts)) ? 0 : 1;
}

/** The chaos report as text. */
export function renderChaosReport(r: ChaosReport): string {
  const ms = (v?: number) => (v === undefined ? '—' : `${(v / 1000).toFixed(2)} s`);
  const lines = ['', 'CHAOS REPORT', `  run               ${r.chunks} chunks in ${r.seconds.toFixed(1)} s`];
  for (const f of r.failures) {
    const who = `  ${f.action.padEnd(5)} ${f.nodeId.padEnd(10)}${f.wasLeader ? ' (leader)' : '         '}`;
    lines.push(
      f.restartedFirst
        ? `${who} restarted and rejoined before it could be declared dead (it handed its own leases back)`
        : `${who} detected after ${ms(f.detectedMs)}, work handed back after ${ms(f.handedBackMs)} (${f.leasesRevoked ?? 0} leases, ${f.replicasMoved ?? 0} replicas re-placed)`,
    );
  }
  for (const l of r.leaves) {
    lines.push(
      `  leave ${l.nodeId.padEnd(10)}          ${l.shards} shards back at R on live nodes after ${ms(l.backAtRMs)} (fewest PRESENT copies meanwhile ${l.fewestCopies ?? '—'}), exited after ${ms(l.exitedMs)}`,
    );
  }
  for (const j of r.joins) {
    lines.push(
      `  join  ${j.nodeId.padEnd(10)}          ${j.moved ?? '—'} of ${j.shards} shards moved (minimum ${j.minimum ?? '—'}), settled after ${ms(j.settledMs)} (fewest PRESENT copies meanwhile ${j.fewestCopies ?? '—'})`,
    );
  }
  lines.push(`  leader changes    ${r.leaderChanges.map((l) => `${l.holder}#${l.token}`).join(' → ') || '—'}`);
  lines.push(`  late commits refused (zombies) ${r.lateCommitsRefused}`);
  lines.push(
    `  records           generated ${r.records.generated} (valid ${r.records.valid}, invalid ${r.records.invalid}); in ${r.records.in}, out ${r.records.out}, rejected ${r.records.rejected}, filtered ${r.records.filtered}`,
  );
  lines.push(`  replicas          every shard at R=2 on live nodes ${ms(r.replicasRestoredMs)} after the last failure`);
  lines.push(r.problems.length ? `  FAILED: ${r.problems.join('; ')}` : '  OK: every record exactly once, accounting balanced, replicas restored');
  return lines.join('\n');
}
