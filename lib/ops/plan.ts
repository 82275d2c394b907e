import { AWS_LIMITS, INSTANCE_TYPES, PRICES_TAKEN, type InstanceType } from './capacity/aws-limits';
import { chunkCost, PER_OBJECT, type ChunkCost } from './capacity/chunk-cost';
import { limitChecks, type LimitCheck } from './capacity/limit-checks';
import { costPerHour, scale, type CostLines } from './capacity/plan-cost';
import { PLAN_DEFAULTS, validatePlanInput, type NormalizedPlanInput, type PlanInput } from './capacity/plan-input';

import { formatBytes as fmtBytes, formatRate } from '../units';

export { ASSUMED_NODE_THROUGHPUT, PLAN_DEFAULTS, PlanInputError, type NodeThroughput, type PlanInput } from './capacity/plan-input';
export type { LimitCheck } from './capacity/limit-checks';
export type { CostLines } from './capacity/plan-cost';

export interface CapacityPlan {
  input: NormalizedPlanInput;
  instance: InstanceType & { type: string };
  nodes: number;
  /** The nodes each node-sizing limit alone requires; the largest sets `nodes`. */
  nodesBy: { throughput: number; network: number; cache: number; connections: number; replication: number };
  /** The limit that sets the node count, and why. */
  binding: { limit: string; why: string };
  perNode: { bytesPerSecond: number; chunksInFlight: number; concurrencyPerNode: number; cacheBytes: number };
  chunk: { sizeBytes: number; reason: string; meanBytes: number; perObject: number; total: number; perSecond: number; seconds: number; cost: ChunkCost };
  s3: { sourceGetsPerSecond: number; processedPutsPerSecond: number; replicaGetsPerSecond: number; sourcePrefixes: number; processedPrefixes: number };
  dynamodb: { writeUnitsPerSecond: number; readUnitsPerSecond: number; objectItemWriteUnitsPerSecond: number };
  sqs: { requestsPerSecond: number };
  chunker: { objectsPerSecond: number; concurrency: number; rampMinutes: number };
  limits: LimitCheck[];
  /** Limits the plan exceeds, with what to change. */
  exceeded: string[];
  hours: number;
  cost: { perHour: CostLines; dataset: CostLines; pricesTaken: string; note: string };
  assumptions: string[];
}

const MiB = 1024 ** 2;
/** Enough chunks per slot that the last wave of a run is short (about 5% of it). */
export const CHUNKS_PER_SLOT = 20;
const CHUNK_MIN = 8 * MiB;
const CHUNK_MAX = 256 * MiB;
/** Chunker time per object (HEAD, two ledger writes) and per SendMessageBatch of 10 chunks: an assumption. */
export const CHUNKER_SECONDS = { perObject: 0.05, perBatch: 0.02 } as const;

/**
 * Sizes a run: nodes, chunk size, concurrency per node, S3 prefixes, and the load on S3, DynamoDB,
 * SQS and the chunker Lambda against their documented limits, with an estimated cost. Pure.
 * Throws PlanInputError for input it cannot plan with.
 */
export function planCapacity(raw: PlanInput): CapacityPlan {
  const input = validatePlanInput(raw);
  const { datasetBytes: size, targetBytesPerSecond: rate, replicationFactor: r, outputRatio: ratio } = input;
  const inst = INSTANCE_TYPES[input.instanceType];
  const nodeRate = input.nodeThroughput.bytesPerSecond;

  // Nodes: the most that any one node-level limit asks for.
  const nicInputRate = (inst.networkGbps * 1e9) / 8 / (1 + r * ratio); // inbound: the source, plus R/N of every shard
  const maxStreams = 2 * inst.vcpus; // the agent caps chunks in flight at 2 × CPUs
  const nodesBy = {
    throughput: Math.ceil(rate / nodeRate),
    network: Math.ceil(rate / nicInputRate),
    cache: Math.ceil((size * ratio * r) / inst.localStorageBytes),
    connections: Math.ceil(rate / (maxStreams * AWS_LIMITS.s3.bytesPerConnection)),
    replication: r,
  };
  const [bindingKey, nodes] = (Object.entries(nodesBy) as Array<[keyof typeof nodesBy, number]>).reduce((a, b) => (b[1] > a[1] ? b : a));
  const share = rate / nodes;
  const inFlight = Math.min(maxStreams, Math.max(2, Math.ceil(share / AWS_LIMITS.s3.bytesPerConnection)));
  const slots = nodes * inFlight;

  const objectBytes = Math.min(input.objectSizeBytes, size);
  const objects = Math.ceil(size / objectBytes);
  const chosen = raw.chunkSizeBytes !== undefined ? { bytes: raw.chunkSizeBytes, reason: 'given' } : chooseChunkSize(size, slots, objectBytes, rate, r);
  const perObject = Math.ceil(objectBytes / chosen.bytes);
  const total = objects * perObject;
  const meanBytes = size / total;
  const chunkRate = rate / meanBytes;
  const objectRate = rate / objectBytes;
  const chunkSeconds = meanBytes / (share / inFlight);
  const cost = chunkCost({ replicationFactor: r, shardBytes: meanBytes * ratio, chunkSeconds, visibilityTimeoutSeconds: input.visibilityTimeoutSeconds });

  const sourceGets = chunkRate * cost.s3SourceGets + objectRate * PER_OBJECT.s3Heads;
  const puts = chunkRate * cost.s3ProcessedPuts + objectRate * (PER_OBJECT.s3Puts + PER_OBJECT.s3Lists);
  const replicaGets = chunkRate * cost.s3ReplicaGets;
  const wcu = chunkRate * cost.ddbWriteUnits + objectRate * PER_OBJECT.ddbWriteUnits;
  const rcu = chunkRate * cost.ddbReadUnits;
  const objectItemWcu = (chunkRate / concurrentObjects(slots, perObject, objects)) * cost.ddbWriteUnitsOnObjectItem;
  const chunkerSecondsPerObject = CHUNKER_SECONDS.perObject + CHUNKER_SECONDS.perBatch * Math.ceil(perObject / 10);
  const chunkerConcurrency = Math.max(1, Math.ceil(objectRate * chunkerSecondsPerObject - 1e-9)); // 10,000 × 0.07 is 700.000…1 in floating point
  const sqsRequests = chunkRate * cost.sqsRequests + objectRate * (1 + 2 / input.chunker.batchSize);

  const sourcePrefixes = Math.ceil(sourceGets / AWS_LIMITS.s3.getPerPrefix);
  const processedPrefixes = Math.max(Math.ceil(puts / AWS_LIMITS.s3.putPerPrefix), Math.ceil(replicaGets / AWS_LIMITS.s3.getPerPrefix));
  const limits = limitChecks({
    rate,
    nodes,
    nodeRate,
    inst,
    r,
    ratio,
    size,
    inFlight,
    maxStreams,
    sourceGets,
    sourcePrefixes,
    puts,
    replicaGets,
    processedPrefixes,
    wcu,
    rcu,
    objectItemWcu,
    chunkerConcurrency,
    maxConcurrency: input.chunker.maxConcurrency,
  });
  const hours = size / rate / 3600;
  const perHour = costPerHour({ nodes, inst, sourceGets, replicaGets, puts, wcu, rcu, sqsRequests, objectRate, chunkerSecondsPerObject, chunker: input.chunker });

  return {
    input,
    instance: { type: input.instanceType, ...inst },
    nodes,
    nodesBy,
    binding: { limit: BINDING_NAMES[bindingKey], why: bindingWhy(bindingKey, nodesBy, { rate, nodeRate, nicInputRate, inst, size, ratio, r, maxStreams }) },
    perNode: { bytesPerSecond: share, chunksInFlight: inFlight, concurrencyPerNode: Math.min(64, Math.ceil(inFlight / Math.max(1, inst.gpus))), cacheBytes: (size * ratio * r) / nodes },
    chunk: { sizeBytes: chosen.bytes, reason: chosen.reason, meanBytes, perObject, total, perSecond: chunkRate, seconds: chunkSeconds, cost },
    s3: { sourceGetsPerSecond: sourceGets, processedPutsPerSecond: puts, replicaGetsPerSecond: replicaGets, sourcePrefixes, processedPrefixes },
    dynamodb: { writeUnitsPerSecond: wcu, readUnitsPerSecond: rcu, objectItemWriteUnitsPerSecond: objectItemWcu },
    sqs: { requestsPerSecond: sqsRequests },
    chunker: {
      objectsPerSecond: objectRate,
      concurrency: chunkerConcurrency,
      rampMinutes: Math.max(0, (chunkerConcurrency - AWS_LIMITS.lambda.sqsInitialConcurrency) / AWS_LIMITS.lambda.sqsScaleUpPerMinute),
    },
    limits,
    exceeded: limits.filter((l) => l.headroom < 1).map((l) => `${l.limit}: ${l.note}`),
    hours,
    cost: {
      perHour,
      dataset: scale(perHour, hours),
      pricesTaken: PRICES_TAKEN,
      note: `an estimate from us-east-1 on-demand list prices (compiled ${PRICES_TAKEN}; P4d/P5 rates predate the June 2025 reduction); excludes S3 storage, EBS, CloudWatch, KMS and Step Functions; transfer between EC2 and S3 in one region through the gateway endpoint is free`,
    },
    assumptions: assumptionsOf(input, raw.chunkSizeBytes === undefined),
  };
}

const BINDING_NAMES = {
  throughput: 'per-node throughput',
  network: 'instance network bandwidth',
  cache: 'shard cache (local NVMe)',
  connections: 'S3 streams per node (2 × vCPUs at ~85 MB/s)',
  replication: 'replication factor (R nodes at least)',
} as const;

function bindingWhy(
  key: keyof typeof BINDING_NAMES,
  by: CapacityPlan['nodesBy'],
  x: { rate: number; nodeRate: number; nicInputRate: number; inst: InstanceType; size: number; ratio: number; r: number; maxStreams: number },
): string {
  const others = (Object.entries(by) as Array<[keyof typeof BINDING_NAMES, number]>)
    .filter(([k]) => k !== key)
    .map(([k, n]) => `${BINDING_NAMES[k]} ${n}`)
    .join(', ');
  const how = {
    throughput: `${fmt(x.rate)} ÷ ${fmt(x.nodeRate)} per node = ${(x.rate / x.nodeRate).toFixed(2)} → ${by.throughput} nodes`,
    network: `each node's inbound link carries its source bytes plus R × ${x.ratio} of every shard it replicates: ${x.inst.networkGbps} Gbit/s ÷ ${(1 + x.r * x.ratio).toFixed(2)} = ${fmt(x.nicInputRate)} of input per node → ${by.network} nodes`,
    cache: `R × shards = ${x.r} × ${x.ratio} × ${fmtBytes(x.size)} = ${fmtBytes(x.size * x.ratio * x.r)} of replicas on ${fmtBytes(x.inst.localStorageBytes)} of NVMe per node → ${by.cache} nodes`,
    connections: `${x.maxStreams} chunks in flight per node at ~85 MB/s each = ${fmt(x.maxStreams * 85e6)} per node → ${by.connections} nodes`,
    replication: `every shard needs R = ${x.r} distinct nodes`,
  }[key];
  return `${how} (the other limits ask for: ${others})`;
}

function concurrentObjects(slots: number, perObject: number, objects: number): number {
  // The chunker enqueues an object's chunks together, so the fleet works on about slots / chunks-per-object objects at once.
  return Math.min(objects, Math.max(1, slots / perObject));
}

/**
 * The largest power of two (8 MiB to 256 MiB) that still gives every slot of the fleet about
 * CHUNKS_PER_SLOT chunks, then larger if needed until the ledger fits DynamoDB's table quota and
 * the one-item limit of each object.
 */
export function chooseChunkSize(size: number, slots: number, objectBytes: number, rate: number, r: number): { bytes: number; reason: string } {
  const ideal = size / (CHUNKS_PER_SLOT * Math.max(1, slots));
  let bytes = Math.min(CHUNK_MAX, Math.max(CHUNK_MIN, 2 ** Math.floor(Math.log2(Math.max(1, ideal)))));
  let reason =
    ideal >= CHUNK_MAX
      ? `the largest plan uses: even so every slot gets over ${CHUNKS_PER_SLOT} chunks`
      : ideal < CHUNK_MIN
        ? `the smallest plan uses, though it gives a slot fewer than ${CHUNKS_PER_SLOT} chunks`
        : `about ${CHUNKS_PER_SLOT} chunks per slot (${slots} slots), so the last wave of the run is short`;
  const fits = (b: number) => {
    const perObject = Math.ceil(objectBytes / b);
    const chunkRate = rate / (objectBytes / perObject);
    const cost = chunkCost({ replicationFactor: r, shardBytes: b, chunkSeconds: 0, visibilityTimeoutSeconds: 120 });
    return (
      chunkRate * cost.ddbWriteUnits <= AWS_LIMITS.dynamodb.tableWriteUnits && (chunkRate / concurrentObjects(slots, perObject, size / objectBytes)) * 2 <= AWS_LIMITS.dynamodb.writeUnitsPerPartition
    );
  };
  while (!fits(bytes) && bytes < CHUNK_MAX) {
    bytes *= 2;
    reason = 'raised until the ledger fits DynamoDB (table quota and one object item per partition)';
  }
  return { bytes, reason };
}

function assumptionsOf(input: NormalizedPlanInput, chunkChosen: boolean): string[] {
  return [
    `per-node throughput ${fmt(input.nodeThroughput.bytesPerSecond)} (${input.nodeThroughput.source}): ${input.nodeThroughput.note}`,
    `objects of ${fmtBytes(input.objectSizeBytes)} on average${input.objectSizeBytes === PLAN_DEFAULTS.objectSizeBytes ? ' (assumed; --object-size)' : ''}: chunks never span objects`,
    `shards are ${input.outputRatio} of the input bytes${input.outputRatio === PLAN_DEFAULTS.outputRatio ? ' (assumed for gzip JSON Lines; the generated test data compresses to 0.1; --output-ratio)' : ''}`,
    'ledger items of at most 1 KB (1 write unit each; 2 in a transaction); request counts per chunk from the code (lib/ops/capacity/chunk-cost.ts)',
    `the chunker spends ${CHUNKER_SECONDS.perObject * 1000} ms per object plus ${CHUNKER_SECONDS.perBatch * 1000} ms per 10 chunks enqueued (assumed)`,
    ...(chunkChosen ? [] : ['chunk size given (--chunk-size): not adjusted to the limits']),
  ];
}

function fmt(bytesPerSecond: number): string {
  return formatRate(bytesPerSecond);
}
