import { formatBytes } from '../../../lib/units';
import { progressBar, sparkline, truncate } from '../../../lib/observability/format';
import type { ThroughputPoint } from '../../../lib/observability/throughput';
import { renderWatchView } from '../../../lib/observability/watch-view';
import { snapshotFixture } from '../../support/snapshot-fixture';

const point = (t: number, bytesPerSec: number, recordsPerSec = 0): ThroughputPoint => ({ t, bytesPerSec, recordsPerSec, chunksInFlight: 0, queued: 0 });
const lineWith = (text: string, needle: string) => text.split('\n').find((l) => l.includes(needle)) ?? '';

describe('renderWatchView', () => {
  it('shows the current throughput and a sparkline of the history', () => {
    const view = renderWatchView(snapshotFixture(), [point(1, 0), point(2, 4_000_000), point(3, 12_500_000, 13_000)]);
    const line = lineWith(view, 'THROUGHPUT');
    expect(line).toContain('12.5 MB/s');
    expect(line).toContain('13,000 rec/s');
    expect(line).toContain('in flight 2');
    expect(line).toContain('▁▃█');
  });

  it('shows totals, every queue with its depth, and the leader', () => {
    const view = renderWatchView(snapshotFixture(), []);
    expect(lineWith(view, 'TOTAL')).toContain('16.0 MB of 40.0 MB · chunks 2/5 · records in 2,000, out 1,990, rejected 10');
    expect(lineWith(view, '  work ')).toMatch(/work\s+3\s+2\s+0/);
    for (const q of ['work DLQ', 'ingest-events ', 'ingest-events DLQ']) expect(view).toContain(q);
    expect(view).toContain('LEADER agent-1 (fencing token 3)');
  });

  it("shows the pipeline's desired state, the last action and the config version", () => {
    expect(renderWatchView(snapshotFixture(), [])).toContain('PIPELINE RUNNING · config version 3');
    const paused = snapshotFixture({ control: { desired: 'PAUSED', generation: 1, emergency: false, action: 'pause', requestedBy: 'ops', reason: 'maintenance', configVersion: 4 } });
    expect(renderWatchView(paused, [])).toContain('PIPELINE PAUSED after pause by ops: maintenance · config version 4');
  });

  it('says there is no leader when the lease has expired', () => {
    const view = renderWatchView(snapshotFixture({ leader: { holder: 'agent-1', token: 3, expiresInMs: -10 } }), []);
    expect(view).toContain('LEADER none');
  });

  it('shows each node with its health, in-flight work, heartbeat age and config version when reported', () => {
    const view = renderWatchView(snapshotFixture(), []);
    expect(lineWith(view, '  agent-1 ')).toMatch(/agent-1\s+healthy\s+ACTIVE\s+2\/4\s+7\s+0\.4s\s+v3\s+local-a/);
    expect(lineWith(view, '  agent-2 ')).toMatch(/agent-2\s+stale\s+ACTIVE\s+0\/4\s+5\s+9\.0s\s+-\s+local-b/);
  });

  it("shows each node's cache use against capacity and its host, GPUs and network", () => {
    const base = snapshotFixture().nodes[0];
    const node = {
      ...base,
      instanceType: 'g5.12xlarge',
      gpus: 4,
      gpuModel: 'NVIDIA A10G',
      gpuMemoryMiB: 24576,
      networkBandwidth: '40 Gbps',
      cache: { capacityBytes: 4e9, usedBytes: 1e9, freeBytes: 3e9, fsAvailableBytes: 9e9, shards: 3, unassigned: 0, refused: 2 },
    };
    const view = renderWatchView(snapshotFixture({ nodes: [node] }), [], { width: 160 });
    expect(lineWith(view, '  agent-1 ')).toContain('1.00 GB/4.00 GB (25%) 2 refused');
    expect(lineWith(view, '  agent-1 ')).toContain('g5.12xlarge 4×A10G 24G 40 Gbps');
  });

  it('draws a progress bar per object from chunks done over chunks', () => {
    const view = renderWatchView(snapshotFixture(), [], { width: 120 });
    const line = lineWith(view, 'train.jsonl');
    expect(line).toContain(' 40%');
    expect(line).toContain('2/5 chunks');
    expect(line).toContain('█'.repeat(12) + '░'.repeat(18)); // 40 % of a 30-cell bar at 120 columns
    expect(line).toContain('ENQUEUED');
  });

  it('lists objects in progress before complete ones and says how many are not shown', () => {
    const base = snapshotFixture().objects[0];
    const objects = [
      { ...base, key: 'done-old', status: 'COMPLETE', chunksDone: 5 },
      { ...base, key: 'busy' },
      { ...base, key: 'done-new', status: 'COMPLETE', chunksDone: 5 },
      { ...base, key: 'also-busy' },
    ];
    const lines = renderWatchView(snapshotFixture({ objects }), [], { maxObjects: 3 }).split('\n');
    const order = ['busy', 'also-busy', 'done-new'].map((k) => lines.findIndex((l) => l.trimStart().startsWith(`${k} `)));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(lines.some((l) => l.trimStart().startsWith('done-old'))).toBe(false);
    expect(lines).toContain('  … and 1 more');
  });

  it('shows replicas below R and the recent errors with the redrive hint', () => {
    const view = renderWatchView(
      snapshotFixture({
        replicas: { shards: 5, belowR: 1, pendingPulls: 0, refused: 0, flaggedShort: 1, worst: [{ chunkId: 'o1-000003', objectKey: 'datasets/train.jsonl', live: 1 }] },
        errors: [{ objectId: 'o1', objectKey: 'datasets/train.jsonl', chunk: 3, kind: 'FAILED', attempt: 5, message: 'boom:\n  bad record' }],
      }),
      [],
    );
    expect(lineWith(view, 'REPLICAS')).toContain('R=2  shards 5  below R 1');
    expect(lineWith(view, 'o1-000003')).toContain('1/2 live');
    expect(lineWith(view, 'FAILED ')).toContain('datasets/train.jsonl chunk 3 (attempt 5): boom: bad record');
    expect(view).toContain('shardline redrive');
  });

  it('keeps every line within the width and adds ANSI colours only when asked', () => {
    const long = { ...snapshotFixture().objects[0], key: `deep/${'x'.repeat(200)}/file.jsonl` };
    const plain = renderWatchView(snapshotFixture({ objects: [long] }), [point(1, 1)], { width: 80 });
    for (const line of plain.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(plain).toContain('…');
    expect(plain).toContain('file.jsonl'); // the end of a key (its file name) survives
    expect(plain).not.toContain('\x1b[');
    expect(renderWatchView(snapshotFixture(), [], { color: true })).toContain('\x1b[32mhealthy');
  });
});

describe('format helpers', () => {
  it('formats bytes in decimal units', () => {
    expect([0, 999, 1500, 24_000_000, 1_200_000_000].map((b) => formatBytes(b))).toEqual(['0 B', '999 B', '1.5 kB', '24 MB', '1.2 GB']);
    expect([1500, 24_000_000, 1_200_000_000].map((b) => formatBytes(b, 'fixed'))).toEqual(['1.5 kB', '24.0 MB', '1.20 GB']);
  });

  it('scales a sparkline to its maximum and keeps only the last values', () => {
    expect(sparkline([0, 1, 2, 4, 8], 5)).toBe('▁▂▃▅█');
    expect(sparkline([0, 0], 5)).toBe('▁▁');
    expect(sparkline([8, 0, 8], 2)).toBe('▁█');
  });

  it('fills a progress bar in proportion and clamps it', () => {
    expect(progressBar(1, 4, 8)).toBe('██░░░░░░');
    expect(progressBar(9, 4, 4)).toBe('████');
    expect(progressBar(0, 0, 3)).toBe('░░░');
  });

  it('truncates with an ellipsis', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
  });
});

describe('renderWatchView object rows', () => {
  it('aligns the bars of rows whatever their state', () => {
    const base = snapshotFixture().objects[0];
    const objects = [
      { ...base, key: 'a.jsonl', status: 'FAILED', failedChunks: 12 },
      { ...base, key: 'b.jsonl', status: 'COMPLETE', chunksDone: 5 },
      { ...base, key: 'c.jsonl' },
    ];
    const rows = renderWatchView(snapshotFixture({ objects }), [], { width: 120 })
      .split('\n')
      .filter((l) => /^ {2}[abc]\.jsonl/.test(l));
    expect(rows).toHaveLength(3);
    expect(new Set(rows.map((r) => r.search(/[█░]/))).size).toBe(1);
  });
});
