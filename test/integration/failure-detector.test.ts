import { detectFailures, type FailureDetectorDeps, type RecoveriesInProgress } from '../../lib/cluster/failure-detector';
import { NodeRegistry, type NodeIdentity } from '../../lib/cluster/registry';
import type { ChunkMessage } from '../../lib/chunking/chunk';
import { ChunkLedger } from '../../lib/ledger/chunk-ledger';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

const identity = (nodeId: string): NodeIdentity => ({
  nodeId,
  failureDomain: nodeId,
  instanceType: 'local',
  gpus: 0,
  cpus: 2,
  memoryMiB: 1024,
  cacheDir: '/tmp',
  cacheCapacityBytes: 1024 ** 3,
});
const chunk = (index: number): ChunkMessage => ({
  v: 1,
  objectId: 'obj-fd',
  chunkId: `obj-fd-${String(index).padStart(6, '0')}`,
  index,
  chunkCount: 4,
  bucket: 'b',
  key: 'k',
  etag: 'e',
  objectSize: 400,
  start: index * 100,
  end: (index + 1) * 100,
  format: 'jsonl',
  compression: 'none',
});

/** Detection is not held up by recovery: two nodes failing together are both declared in one sweep. */
describe('failure detector (real SDK clients, local endpoint)', () => {
  let env: ProvisionedEndpoint;
  let registry: NodeRegistry;
  let chunks: ChunkLedger;
  let deps: FailureDetectorDeps;

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
    registry = new NodeRegistry(env.clients.doc, env.resources.nodesTable);
    chunks = new ChunkLedger(env.clients.doc, env.resources.ledgerTable);
    deps = {
      registry,
      chunks,
      sqs: env.clients.sqs,
      doc: env.clients.doc,
      ledgerTable: env.resources.ledgerTable,
      workQueueUrl: env.resources.workQueueUrl,
      replicationFactor: 2,
      timeoutMs: 3500,
      detectorId: 'leader',
      log: () => undefined,
    };
  }, 60_000);
  afterAll(async () => env?.server.stop());

  it('declares every silent node dead in one sweep, recovers each once in the background, and hands their leases back', async () => {
    const t0 = Date.now() - 10_000;
    for (const id of ['leader', 'n1', 'n2']) {
      await registry.join(identity(id), t0);
      await registry.heartbeat(id, { inFlight: 0, chunksDone: 0, concurrency: 1 }, false, id === 'leader' ? Date.now() : t0);
    }
    await chunks.lease(chunk(0), 'n1', 'no-receipt', 60_000, t0);
    await chunks.lease(chunk(1), 'n2', 'no-receipt', 60_000, t0);
    const inProgress: RecoveriesInProgress = new Map();

    const declared = await detectFailures(deps, inProgress);

    expect(declared.sort()).toEqual(['n1', 'n2']);
    expect([...inProgress.keys()].sort()).toEqual(['n1', 'n2']); // running, not awaited by the sweep
    expect(await detectFailures(deps, inProgress)).toEqual([]); // already dead: no second declaration or recovery
    expect(inProgress.size).toBeLessThanOrEqual(2);
    await Promise.all(inProgress.values());
    expect(inProgress.size).toBe(0);

    expect(await chunks.leasesOf('n1')).toEqual([]);
    expect(await chunks.leasesOf('n2')).toEqual([]);
    const nodes = await registry.list();
    for (const id of ['n1', 'n2']) expect(nodes.find((n) => n.nodeId === id)).toMatchObject({ status: 'DEAD', detectedBy: 'leader', recoveredAt: expect.any(Number) });
    expect(nodes.find((n) => n.nodeId === 'leader')?.status).toBe('ACTIVE');
  }, 60_000);
});
