import { renderStatus } from '../../../cli/status';
import type { PipelineStatus } from '../../../lib/observability/status';

const status = (node: Partial<PipelineStatus['nodes'][number]>): PipelineStatus => ({
  objects: [],
  nodes: [{ nodeId: 'i-0abc', status: 'ACTIVE', failureDomain: 'us-west-2a', instanceType: 'g5.xlarge', heartbeatAgeMs: 500, ...node }],
});
const nodeLine = (text: string) => text.split('\n').find((l) => l.startsWith('i-0abc\t')) ?? '';

describe('renderStatus', () => {
  it("shows each node's host, GPUs, network, zone and cache use against capacity", () => {
    const text = renderStatus(
      status({
        cpus: 4,
        memoryMiB: 16384,
        gpus: 1,
        gpuModel: 'NVIDIA A10G',
        gpuMemoryMiB: 24576,
        networkBandwidth: 'up to 10 Gbps',
        availabilityZone: 'us-west-2a',
        cacheCapacityBytes: 4e9,
        cache: { capacityBytes: 4e9, usedBytes: 3e9, freeBytes: 1e9, fsAvailableBytes: 2e9, shards: 3, unassigned: 1, refused: 0 },
      }),
    );
    expect(text).toContain('TYPE\tHOST\tGPUS\tNETWORK\tZONE\tCACHE USED/CAPACITY');
    expect(nodeLine(text).split('\t').slice(-6)).toEqual(['g5.xlarge', '4 vCPU 16G', '1×A10G 24G', 'up to 10 Gbps', 'us-west-2a', '3.00 GB/4.00 GB (75%)']);
  });

  it('says why a node is draining, and shows the capacity at join before a cache report', () => {
    const text = renderStatus(status({ status: 'DRAINING', drainReason: 'spot interruption', cacheCapacityBytes: 9e11 }));
    expect(text).toContain('  i-0abc: draining (spot interruption)');
    expect(nodeLine(text)).toMatch(/\t\?\/900\.00 GB$/);
  });

  it("lists each job's last complete step and the uploads in flight, and nothing when no job has checkpoints", () => {
    expect(renderStatus(status({}))).not.toContain('CHECKPOINTS');
    const text = renderStatus({
      ...status({}),
      checkpoints: [
        {
          job: 'llm-7b',
          latestComplete: 30,
          latestCompletedAt: '2026-11-30T08:00:00.000Z',
          pendingSteps: [{ step: 40, ranksDurable: 1, worldSize: 2 }],
          uploading: [{ step: 40, rank: 1, node: 'i-0def', bytes: 2e8, saveId: 's1', startedAt: '2026-11-30T08:00:10.000Z', ageMs: 12_000 }],
        },
      ],
    });
    expect(text).toContain('CHECKPOINTS (1 jobs)');
    expect(text).toContain('llm-7b\t30\t2026-11-30T08:00:00.000Z\t40 (1/2 ranks)\t1 parts, 200.0 MB');
    expect(text).toContain('  llm-7b step 40 rank 1: 200.0 MB from i-0def, uploading for 12 s');
  });
});
