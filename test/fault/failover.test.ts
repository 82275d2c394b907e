import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderChaosReport } from '../../cli/commands/chaos';
import { runChaos, type ChaosReport } from '../../local/chaos';

describe('failover under fault injection (6 agent processes, local endpoint)', () => {
  let report: ChaosReport;

  beforeAll(async () => {
    report = await runChaos({
      agents: 6,
      kill: 2,
      pause: 1,
      pauseMs: 12_000, // wakes after it was declared dead and its work handed back, even on a loaded machine
      sizeBytes: 8_000_000, // ~50 chunks: the run outlasts three failures spaced by a leader election
      chunkSizeBytes: 160 * 1024,
      slowMs: 1000,
      deadlineMs: 180_000, // it takes 20–40 s; a stall is reported as a problem, not a hook timeout
      stateDir: mkdtempSync(join(tmpdir(), 'shardline-chaos-')),
    });
    console.log(renderChaosReport(report));
  }, 300_000);

  it('delivers every record exactly once with balanced accounting after two kills and a pause', () => {
    expect(report.problems).toEqual([]);
    expect(report.records.in).toBe(report.records.generated);
    expect(report.records.out).toBe(report.records.valid);
  });

  it('detects every failed node within 5 s and hands its work back within 30 s', () => {
    expect(report.failures).toHaveLength(3);
    for (const f of report.failures) {
      expect(f.detectedMs).toBeLessThan(5000);
      expect(f.handedBackMs).toBeLessThan(30_000);
    }
  });

  it('hands the leases of failed lease holders back to the queue', () => {
    // Victims are chosen while they hold leases; one may finish its chunk before the signal lands.
    const revoked = report.failures.filter((f) => !f.wasLeader).map((f) => f.leasesRevoked ?? 0);
    expect(revoked.some((n) => n > 0)).toBe(true);
  });

  it('elects a new leader when the leader is killed', () => {
    expect(report.failures[0].wasLeader).toBe(true);
    const holders = report.leaderChanges.map((l) => l.holder);
    expect(holders[0]).toBe(report.failures[0].nodeId);
    expect(holders.slice(1).some((h) => h !== report.failures[0].nodeId)).toBe(true);
    const takeover = report.leaderChanges[1].at - report.failures[0].at;
    expect(takeover).toBeLessThan(5000);
  });

  it('refuses the late commit of a paused (zombie) node', () => {
    expect(report.lateCommitsRefused).toBeGreaterThanOrEqual(1);
  });

  it('brings every shard back to R replicas on live nodes', () => {
    expect(report.replicasRestoredMs).toBeDefined();
  });
});
