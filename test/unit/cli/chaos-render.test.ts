import { renderChaosReport } from '../../../cli/commands/chaos';
import type { ChaosReport } from '../../../local/chaos';

const report: ChaosReport = {
  failures: [],
  leaderChanges: [{ holder: 'agent-1', token: 1, at: 0 }],
  records: { generated: 10, valid: 9, invalid: 1, in: 10, out: 9, rejected: 1, filtered: 0 },
  chunks: 12,
  seconds: 20,
  replicasRestoredMs: 1500,
  leaves: [{ nodeId: 'agent-3', at: 0, shards: 7, backAtRMs: 1190, exitedMs: 3400, fewestCopies: 2 }],
  joins: [{ nodeId: 'agent-6', at: 0, shards: 12, moved: 5, minimum: 5, settledMs: 4200, fewestCopies: 2 }],
  lateCommitsRefused: 0,
  problems: [],
};

describe('renderChaosReport', () => {
  it('prints the time back to R of each leave and the shards moved of each join against the minimum', () => {
    const text = renderChaosReport(report);
    expect(text).toMatch(/leave agent-3 +7 shards back at R on live nodes after 1\.19 s \(fewest PRESENT copies meanwhile 2\), exited after 3\.40 s/);
    expect(text).toMatch(/join {2}agent-6 +5 of 12 shards moved \(minimum 5\), settled after 4\.20 s/);
  });

  it('shows a dash for a figure a leave or join never reached', () => {
    const text = renderChaosReport({ ...report, leaves: [{ nodeId: 'agent-3', at: 0, shards: 7 }], joins: [{ nodeId: 'agent-6', at: 0, shards: 12 }] });
    expect(text).toMatch(/7 shards back at R on live nodes after — .*exited after —/);
    expect(text).toMatch(/— of 12 shards moved \(minimum —\), settled after —/);
  });
});
