import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PurgeQueueCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../lib/agent/agent';
import { afterCommitsSettled } from '../../lib/agent/chunk-lifecycle';
import { handleChunkMessage, type ChunkWorkerDeps } from '../../lib/agent/chunk-worker';
import type { Clock } from '../../lib/agent/clock';
import { longestChain, RequestCounter, type CountedRequest } from '../../lib/aws/request-counter';
import { chunkObject } from '../../lib/chunker/chunker';
import { placementOf } from '../../lib/cluster/failure-detector';
import { NodeRegistry } from '../../lib/cluster/registry';
import { parsePipelineConfig } from '../../lib/config/pipeline-config';
import { ChunkLedger } from '../../lib/ledger/chunk-ledger';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { startAgentTelemetry, type AgentTelemetry } from '../../lib/observability/agent-metrics/agent-telemetry';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

/** Time runs this many times faster than the wall clock for the agents (their timers, sleeps, long polls and metric flushes). */
const SPEED = 2.5;
/** Idle requests per added node per second (measured as the slope between 3 and 6 idle agents). */
const IDLE_PER_NODE_CEILING = 1.5;
/** Sequential round trips on a chunk's critical path. */
const CRITICAL_PATH_CEILING = 4;
/**
 * Requests per chunk of an object's chunks before its last (lease, visibility, GET, shard PUT,
 * commit, delete; a registry read for placement at most once a second comes on top). A chunk
 * without rejected records writes no rejects object.
 */
const REQUESTS_PER_CHUNK_CEILING = 6;

/** A clock `speed` times faster than the wall clock, for every part that takes one. */
function fastClock(speed: number): Clock {
  const t0 = Date.now();
  return {
    now: () => t0 + (Date.now() - t0) * speed,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms / speed).unref()),
    every: (ms, fn, opts) => {
      const timer = setInterval(fn, ms / speed);
      if (opts?.unref) timer.unref();
      return () => clearInterval(timer);
    },
  };
}

/** SDK clients of their own on the endpoint, every request counted by `counter`. */
function countedClients(endpoint: string, counter: RequestCounter) {
  const base = { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const s3 = new S3Client({ ...base, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  const sqs = new SQSClient({ ...base, useQueueUrlAsEndpoint: false });
  const ddb = new DynamoDBClient(base);
  const cloudwatch = new CloudWatchClient(base);
  counter.attach(s3, 'S3').attach(sqs, 'SQS').attach(ddb, 'DynamoDB').attach(cloudwatch, 'CloudWatch');
  return { s3, sqs, doc: DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } }), cloudwatch };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Round trips a chunk waited on in turn: the longest chain of requests each started after the
 * previous one ended, where the chunk's uploads count once: the shard and rejects uploads start
 * together, and on the emulator the rejects file's gzip flush often ends after the shard's PUT has
 * already returned, which timing alone would take for one upload waiting on the other.
 */
function roundTripsOf(critical: CountedRequest[]): string[] {
  return longestChain(critical)
    .map((r) => r.operation.split('.')[1])
    .filter((op, i, chain) => !(op === 'PutObject' && chain[i - 1] === 'PutObject'));
}
const perSecond = (counts: Record<string, number>, seconds: number) => Object.fromEntries(Object.entries(counts).map(([op, n]) => [op, n / seconds]));

/**
 * The control plane's request budget, counted by an SDK middleware against the local endpoint:
 * what an idle node costs (the slope between 3 and 6 idle agents, so the leader's and the
 * endpoint's fixed costs cancel), and what one chunk costs in requests and in round trips waited
 * on in turn.
 */
describe('control-plane request budget (real SDK clients, local endpoint)', () => {
  let env: ProvisionedEndpoint;
  const config = parsePipelineConfig({ chunkSizeBytes: 64 * 1024, replicationFactor: 2 });

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
  }, 60_000);
  afterAll(async () => env?.server.stop());

  it(`costs at most ${IDLE_PER_NODE_CEILING} requests per second for each idle node added, and no scan`, async () => {
    const clock = fastClock(SPEED);
    const { resources } = env;
    // Every agent has clients and a counter of its own: the leader's share can be told apart.
    const agents: Array<{ agent: Agent; telemetry: AgentTelemetry; counter: RequestCounter }> = [];
    const log = () => undefined;
    const addAgents = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const nodeId = `idle-${agents.length + 1}`;
        const counter = new RequestCounter();
        const clients = countedClients(env.server.endpoint, counter);
        const registry = new NodeRegistry(clients.doc, resources.nodesTable);
        const identity = {
          nodeId,
          failureDomain: `az-${agents.length % 3}`,
          instanceType: 'g5.xlarge',
          gpus: 1,
          cpus: 4,
          memoryMiB: 16384,
          cacheDir: mkdtempSync(join(tmpdir(), `shardline-budget-${nodeId}-`)),
          cacheCapacityBytes: 1024 ** 3,
        };
        const telemetry = await startAgentTelemetry({
          stage: 'budget',
          nodeId,
          cloudwatch: clients.cloudwatch,
          leader: { doc: clients.doc, ledgerTable: resources.ledgerTable, healthyNodes: async () => 0 },
          log,
          publishIntervalMs: 1000 / SPEED,
          flushEveryMs: 20_000 / SPEED,
          processMetrics: false,
        });
        const agent = new Agent(
          {
            ...clients,
            registry,
            names: resources,
            identity,
            config,
            log,
            pollWaitSeconds: 20 / SPEED, // SQS's 20 s long poll, in the agents' time
            ...telemetry.hooks,
          },
          clock,
        );
        await agent.start();
        agents.push({ agent, telemetry, counter });
      }
    };
    /** Requests per (agents') second over `seconds` of the agents' time, after `settleSeconds` for back-offs to reach their idle pace. */
    const measure = async (settleSeconds: number, seconds: number) => {
      await sleep((settleSeconds * 1000) / SPEED);
      const from = Date.now();
      await sleep((seconds * 1000) / SPEED);
      const to = Date.now();
      const tables = { [resources.nodesTable]: 'nodes', [resources.ledgerTable]: 'ledger', [resources.controlTable]: 'control' };
      const byOperation: Record<string, number> = {};
      for (const { counter } of agents) for (const [op, n] of Object.entries(counter.byOperation(from, to, tables))) byOperation[op] = (byOperation[op] ?? 0) + n;
      const followers = agents.filter(({ agent }) => !agent.leading).map(({ counter }) => counter.count(from, to) / seconds);
      return { total: agents.reduce((n, { counter }) => n + counter.count(from, to), 0) / seconds, byOperation: perSecond(byOperation, seconds), follower: Math.max(...followers) };
    };

    try {
      await addAgents(3);
      const three = await measure(40, 120);
      await addAgents(3);
      const six = await measure(40, 120);

      const slope = (six.total - three.total) / 3;
      const operations = [...new Set([...Object.keys(three.byOperation), ...Object.keys(six.byOperation)])].sort();
      const slopeOf = (op: string) => ((six.byOperation[op] ?? 0) - (three.byOperation[op] ?? 0)) / 3;
      console.log(
        [
          `idle requests/s: 3 agents ${three.total.toFixed(2)}, 6 agents ${six.total.toFixed(2)}: ${slope.toFixed(2)} per added node (ceiling ${IDLE_PER_NODE_CEILING}); the busiest follower ${three.follower.toFixed(2)} and ${six.follower.toFixed(2)}`,
          ...operations.map((op) => `  ${op.padEnd(32)} 3: ${(three.byOperation[op] ?? 0).toFixed(3)}/s  6: ${(six.byOperation[op] ?? 0).toFixed(3)}/s  per added node: ${slopeOf(op).toFixed(3)}/s`),
        ].join('\n'),
      );
      expect(slope).toBeLessThanOrEqual(IDLE_PER_NODE_CEILING);
      expect(six.follower).toBeLessThanOrEqual(IDLE_PER_NODE_CEILING);
      expect(slope).toBeGreaterThan(0.3); // heartbeats at least: the counter sees the agents
      // No scan grows with the nodes, and no per-node read of shared tables at a fixed 0.5 s.
      expect(six.byOperation['DynamoDB.Scan nodes'] ?? 0).toBe(0); // the leader reads membership by key
      expect(
        operations
          .filter((op) => op.startsWith('DynamoDB.Scan'))
          .map(slopeOf)
          .every((slope) => slope < 0.05),
      ).toBe(true);
      expect(operations.filter((op) => op.startsWith('DynamoDB.Query')).reduce((sum, op) => sum + slopeOf(op), 0)).toBeLessThan(0.5);
      expect(slopeOf('CloudWatch.PutMetricData')).toBeLessThanOrEqual(0.06);
    } finally {
      await Promise.all(agents.map(({ agent }) => agent.drain({ deadline: clock.now() + 10_000 }).catch(() => undefined)));
      await Promise.all(agents.map(({ telemetry }) => telemetry.stop()));
      // A drain aborts the agents' long polls on the client only: the emulator keeps each one open
      // to its end and would hand the next test's chunk message to a poll nobody reads any more.
      await sleep((20 * 1000) / SPEED + 1000);
    }
  }, 240_000);

  it(`works a chunk with at most ${CRITICAL_PATH_CEILING} round trips in turn (one more for an object's last) and ${REQUESTS_PER_CHUNK_CEILING} requests`, async () => {
    const { resources } = env;
    await env.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: resources.workQueueUrl }));
    const body = Array.from({ length: 2400 }, (_, i) => JSON.stringify({ id: i, text: `record ${i} ${'x'.repeat(90)}` })).join('\n') + '\n';
    const key = 'budget/chunks.jsonl';
    await env.clients.s3.send(new PutObjectCommand({ Bucket: resources.ingestBucket, Key: key, Body: body }));
    const planned = await chunkObject(
      {
        s3: env.clients.s3,
        sqs: env.clients.sqs,
        objects: new ObjectLedger(env.clients.doc, resources.ledgerTable),
        workQueueUrl: resources.workQueueUrl,
        processedBucket: resources.processedBucket,
        config,
      },
      { bucket: resources.ingestBucket, key, eventName: 'ObjectCreated:Put' },
    );
    const chunkCount = planned.chunks;
    expect(chunkCount).toBeGreaterThanOrEqual(3);

    const counter = new RequestCounter();
    const clients = countedClients(env.server.endpoint, counter);
    const registry = new NodeRegistry(clients.doc, resources.nodesTable);
    const deps: ChunkWorkerDeps = {
      ...clients,
      chunks: new ChunkLedger(clients.doc, resources.ledgerTable),
      objects: new ObjectLedger(clients.doc, resources.ledgerTable),
      workQueueUrl: resources.workQueueUrl,
      processedBucket: resources.processedBucket,
      nodeId: 'budget-worker',
      config,
      placementNodes: async () => (await registry.healthy(config.heartbeatTimeoutSeconds * 1000, Date.now(), 1000)).map(placementOf),
      log: () => undefined,
    };
    const perChunk: Array<{ requests: CountedRequest[]; critical: CountedRequest[] }> = [];
    for (let i = 0; i < chunkCount; i++) {
      const message = await receiveOne(env.clients.sqs, resources.workQueueUrl);
      counter.reset();
      const report = await handleChunkMessage(deps, message);
      // What had answered by the report is what the chunk waited on; what runs on (the delete) is off its path.
      const critical = counter.requests.filter((r) => r.endedAt !== undefined).map((r) => ({ ...r }));
      await afterCommitsSettled(deps);
      expect(report.result).toBe('processed');
      perChunk.push({ requests: [...counter.requests], critical });
    }
    const object = await new ObjectLedger(env.clients.doc, resources.ledgerTable).get(planned.objectId as string);
    expect(object).toMatchObject({ status: 'COMPLETE', chunksDone: chunkCount });

    const lines = perChunk.map(({ requests, critical }, i) => {
      const ops = requests.map((r) => r.operation).join(', ');
      const chain = roundTripsOf(critical);
      return `  chunk ${i}: ${requests.length} requests (${ops}); ${chain.length} round trips in turn before its report (${chain.join(' → ')})`;
    });
    console.log([`per chunk (${chunkCount} chunks of one object, worked one at a time):`, ...lines].join('\n'));
    // The object's last commit finds its transaction's "not the last" condition false and goes
    // through again without it: one round trip more, once per object.
    for (const { critical } of perChunk.slice(0, -1)) expect(roundTripsOf(critical).length).toBeLessThanOrEqual(CRITICAL_PATH_CEILING);
    expect(roundTripsOf(perChunk[perChunk.length - 1].critical).length).toBeLessThanOrEqual(CRITICAL_PATH_CEILING + 1);
    // Every chunk but the last: no read of the object after the commit; the last one finalizes it.
    for (const { requests } of perChunk.slice(0, -1)) {
      // The placement targets' registry read (at most once a second, off the path) comes on top.
      expect(requests.filter((r) => r.table !== resources.nodesTable).length).toBeLessThanOrEqual(REQUESTS_PER_CHUNK_CEILING);
      expect(requests.filter((r) => r.operation === 'DynamoDB.GetItem' && r.table === resources.ledgerTable)).toEqual([]);
      expect(requests.filter((r) => r.operation === 'S3.PutObject')).toHaveLength(1); // the shard: no record is rejected, so no rejects object
    }
    for (const { requests } of perChunk) {
      expect(requests.filter((r) => r.operation === 'SQS.DeleteMessage')).toHaveLength(1);
      expect(requests.filter((r) => r.operation === 'DynamoDB.TransactWriteItems').length).toBeGreaterThanOrEqual(1);
    }
  }, 120_000);
});

async function receiveOne(sqs: SQSClient, queueUrl: string): Promise<Message> {
  for (let i = 0; i < 10; i++) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, VisibilityTimeout: 30, MessageSystemAttributeNames: ['All'] }));
    if (out.Messages?.[0]) return out.Messages[0];
  }
  throw new Error('no chunk message');
}
