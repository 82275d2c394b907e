import { PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { LeaderLease } from '../../lib/cluster/leader-lease';
import { NodeRegistry, type NodeIdentity } from '../../lib/cluster/registry';
import type { Target } from '../../lib/aws/target';
import { parsePipelineConfig } from '../../lib/config/pipeline-config';
import { ConfigStore } from '../../lib/control/config-store';
import { keys } from '../../lib/ledger/items';
import { AgentMetric, METRIC_NAMESPACE } from '../../lib/observability/metric-names';
import { cloudWatchFor } from '../../lib/ops/cloudwatch-client';
import { measureNodeThroughput } from '../../lib/ops/capacity/measured-throughput';
import { collectEvidence } from '../../lib/ops/doctor/collect-evidence';
import { diagnose } from '../../lib/ops/doctor/diagnose';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

const MiB = 1024 ** 2;
const identity = (nodeId: string, failureDomain: string): NodeIdentity => ({
  nodeId,
  failureDomain,
  instanceType: 'local',
  gpus: 0,
  cpus: 2,
  memoryMiB: 1024,
  cacheDir: `/tmp/${nodeId}`,
  cacheCapacityBytes: 100 * 1024 ** 3,
});

/**
 * One pipeline state (two busy nodes, twelve chunks waiting, an object in progress) seen through
 * three metric scenarios, each published under its own Stage: doctor must read them back from
 * CloudWatch and name the known bottleneck of each.
 */
describe('doctor: collectEvidence + diagnose (local endpoint)', () => {
  let endpoint: ProvisionedEndpoint;
  let target: Target;
  let now = 0;

  const stage = (name: string, at: number) => {
    const dims = [{ Name: 'Stage', Value: name }];
    const datum = (MetricName: string, value: number, extra: Partial<MetricDatum> = {}): MetricDatum => ({
      MetricName,
      Dimensions: dims,
      Timestamp: new Date(at - 30_000),
      Value: value,
      StorageResolution: 1,
      ...extra,
    });
    const many = (MetricName: string, value: number, count: number, extra: Partial<MetricDatum> = {}): MetricDatum => ({
      MetricName,
      Dimensions: dims,
      Timestamp: new Date(at - 30_000),
      Values: [value],
      Counts: [count],
      StorageResolution: 1,
      ...extra,
    });
    return { dims, datum, many };
  };

  async function publish(data: MetricDatum[]): Promise<void> {
    const cw = cloudWatchFor(endpoint.clients);
    for (let i = 0; i < data.length; i += 20) await cw.send(new PutMetricDataCommand({ Namespace: METRIC_NAMESPACE, MetricData: data.slice(i, i + 20) }));
  }

  beforeAll(async () => {
    endpoint = await startProvisionedEndpoint();
    const { clients, resources } = endpoint;
    target = { clients, resources, label: 'test', endpoint: endpoint.server.endpoint };
    now = Date.now();
    const { doc, sqs } = clients;
    const put = (Item: Record<string, unknown>) => doc.send(new PutCommand({ TableName: resources.ledgerTable, Item }));

    // Two nodes in two failure domains, each running 2 of 2 slots; n1 leads.
    const registry = new NodeRegistry(doc, resources.nodesTable);
    for (const [id, domain] of [
      ['n1', 'a'],
      ['n2', 'b'],
    ]) {
      await registry.join(identity(id, domain), now);
      await registry.heartbeat(id, { inFlight: 2, chunksDone: 5, concurrency: 2 }, false, now);
    }
    await new LeaderLease(doc, resources.controlTable, 'n1', 60_000).tryAcquire();
    // Central config version 1 lowers concurrency to 2 (doctor must report the config in force).
    await new ConfigStore(doc, resources.controlTable).set({ base: { concurrencyPerNode: 2 }, groups: {} }, { expectedVersion: 0, deployed: parsePipelineConfig({}), updatedBy: 'test' });

    // Ledger: one object of 30 chunks, 10 processed (replicas on both nodes), 4 leased (2 per node).
    await put({
      ...keys.object('o1'),
      objectId: 'o1',
      key: 'in/big.jsonl',
      status: 'ENQUEUED',
      size: 30 * 8 * MiB,
      chunkCount: 30,
      chunksDone: 10,
      recordsIn: 100,
      recordsOut: 100,
      recordsRejected: 0,
      recordsFiltered: 0,
      bytesIn: 80 * MiB,
      createdAt: '2026-01-01T00:00:00Z',
      etag: 'e',
    });
    for (let i = 0; i < 14; i++) {
      const chunkId = `o1-${String(i).padStart(6, '0')}`;
      if (i < 10) {
        await put({ ...keys.chunk('o1', i), objectId: 'o1', chunkId, index: i, status: 'PROCESSED', attempt: 1, replicas: ['n1', 'n2'] });
        for (const node of ['n1', 'n2'])
          await put({ ...keys.replica(node, chunkId), nodeId: node, chunkId, objectId: 'o1', status: 'PRESENT', shardKey: 'k', sha256: 's', bytes: 1, assignedAt: 'now' });
      } else {
        const holder = i < 12 ? 'n1' : 'n2';
        await put({ ...keys.chunk('o1', i), objectId: 'o1', chunkId, index: i, status: 'LEASED', attempt: 1, leaseOwner: holder, leasedBy: holder, leaseExpiresAt: now + 60_000 });
      }
    }
    // Twelve chunk messages wait: more than the 4 slots of the fleet.
    for (const batch of [0, 10]) {
      const entries = Array.from({ length: batch ? 2 : 10 }, (_, j) => ({ Id: `m${batch + j}`, MessageBody: `{"chunk":${batch + j}}` }));
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: resources.workQueueUrl, Entries: entries }));
    }

    // Scenario "slow processing": 20 chunks of 8 MiB, process 900 ms of 1,100 ms; each node 2 in flight every second.
    const slow = stage('it-slow', now);
    await publish([
      slow.many(AgentMetric.downloadMs, 100, 20),
      slow.many(AgentMetric.processMs, 900, 20),
      slow.many(AgentMetric.uploadMs, 60, 20),
      slow.many(AgentMetric.commitMs, 40, 20),
      slow.many(AgentMetric.totalMs, 1100, 20),
      slow.many(AgentMetric.queueWaitMs, 30_000, 20),
      slow.datum(AgentMetric.chunksProcessed, 20),
      slow.datum(AgentMetric.bytesProcessed, 20 * 8 * MiB),
      slow.many(AgentMetric.chunksInFlight, 2, 120),
      slow.datum(AgentMetric.healthyNodes, 2),
    ]);
    // Scenario "S3 throttling": 30 SlowDown responses against 10 chunks (Stage + Service dimensions).
    const s3 = stage('it-s3', now);
    await publish([
      s3.datum(AgentMetric.throttles, 30, { Dimensions: [...s3.dims, { Name: 'Service', Value: 'S3' }] }),
      s3.datum(AgentMetric.chunksProcessed, 10),
      s3.many(AgentMetric.chunksInFlight, 2, 120),
      s3.many(AgentMetric.downloadMs, 4000, 10),
      s3.many(AgentMetric.totalMs, 4300, 10),
      s3.datum(AgentMetric.chunkErrors, 2, { Dimensions: [...s3.dims, { Name: 'ErrorKind', Value: 's3' }] }),
    ]);
  }, 90_000);

  afterAll(async () => {
    await endpoint?.server.stop();
  });

  const collect = (stageName: string) => collectEvidence(target, { windowSeconds: 60, stage: stageName, deployedConfig: { chunkSizeBytes: 8 * MiB }, now: () => now + 1000 });

  it('reads the metrics, the ledger, the registry, the config in force and the queues', async () => {
    const e = await collect('it-slow');

    expect(e.metrics).toMatchObject({ present: true, percentiles: false, chunksProcessed: 20, bytesProcessed: 20 * 8 * MiB, healthyNodes: { min: 2, max: 2, last: 2 } });
    expect(e.metrics.latency.process).toMatchObject({ count: 20, meanMs: 900 });
    expect(e.metrics.inFlight?.meanPerNode).toBe(2);
    expect(e.nodes.map((n) => [n.nodeId, n.health, n.inFlight, n.concurrency, n.replicas, n.leasesHeld, n.placementWeight])).toEqual([
      ['n1', 'healthy', 2, 2, 10, 2, 100],
      ['n2', 'healthy', 2, 2, 10, 2, 100],
    ]);
    expect(e.queues.work.visible).toBe(12);
    expect(e.pipeline).toMatchObject({ desired: 'RUNNING', configVersion: 1, concurrencyPerNode: 2, chunkSizeBytes: 8 * MiB, leader: 'n1' });
    expect(e.ledger).toMatchObject({ objects: 1, incompleteObjects: 1, chunkCount: 30, chunksDone: 10, chunksLeased: 4 });
    expect(e.replication).toMatchObject({ factor: 2, shards: 10, belowR: 0 });
  });

  it('names processing the slow stage from the published latencies', async () => {
    const d = diagnose(await collect('it-slow'));
    expect(d.verdict).toBe('bottleneck');
    expect(d.findings[0]).toMatchObject({ stage: 'processing' });
    expect(d.findings[0].title).toBe('transform is the slow stage: mean process 900 ms of 1,100 ms total per chunk');
    expect(d.findings.map((f) => f.stage)).toContain('too-few-nodes');
  });

  it('names S3 throttling from Throttles{Service=S3} and reads ChunkErrors by kind', async () => {
    const e = await collect('it-s3');
    expect(e.metrics.throttles).toEqual({ s3: 30, dynamodb: 0 });
    expect(e.metrics.chunkErrorsByKind).toEqual({ s3: 2 });
    const d = diagnose(e);
    expect(d.findings[0]).toMatchObject({ stage: 's3-throttling', severity: 'critical' });
    expect(d.findings[0].recommendation).toContain('raise chunkSizeBytes from 8 MiB to 64 MiB');
  });

  it('measures per-node throughput for plan from BytesProcessed and HealthyNodes', async () => {
    // 20 chunks × 8 MiB = 167,772,160 bytes in one minute on 2 healthy nodes: ÷ (60 s × 2) = 1,398,101 B/s.
    const measured = await measureNodeThroughput(cloudWatchFor(endpoint.clients), { stage: 'it-slow', end: new Date(now + 1000), emulator: true });
    expect(measured?.bytesPerSecond).toBeCloseTo(1_398_101.3, 0);
    expect(measured?.source).toBe('measured');
    expect(measured?.note).toContain('over 1 active minute(s)');
    expect(measured?.note).toContain('local emulator');
    expect(await measureNodeThroughput(cloudWatchFor(endpoint.clients), { stage: 'it-nothing-published', end: new Date(now + 1000) })).toBeUndefined();
  });

  it('falls back to heartbeats when a stage has no metrics, and still names too few nodes', async () => {
    const e = await collect('it-nothing-published');
    expect(e.metrics.present).toBe(false);
    const d = diagnose(e);
    expect(d.findings[0]).toMatchObject({ stage: 'too-few-nodes' });
    expect(d.findings.map((f) => f.stage)).toContain('metrics');
  });
});
