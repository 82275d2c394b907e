/**
 * The figures of a simulation: throughput, cluster utilization, chunk latency, request rates per
 * service against their quotas, failure detection and recovery, the invariants, and the cost per
 * hour priced like `plan` (us-east-1 list prices).
 */
import { PRICES } from '../ops/capacity/aws-limits';
import { QUOTAS, SERVICES, type Service } from './service-model';
import type { SimulationOutcome } from './simulation';

export interface RateCheck {
  what: string;
  /** Per second: the mean over the run, and the busiest second. */
  mean: number;
  peak: number;
  quota: number;
  /** quota ÷ peak: below 1 the quota was passed (and requests throttled). */
  headroom: number;
}

export interface SimulationReport {
  nodes: number;
  chunks: number;
  datasetBytes: number;
  makespanSeconds: number;
  throughputBytesPerSecond: number;
  /** Bytes committed ÷ what the alive nodes could have taken through their bottleneck (CPU, network or connections) over the run. */
  utilization: number;
  perNodeCapacityBytesPerSecond: number;
  chunkLatencyMs: { p50: number; p99: number; max: number };
  requests: Record<Service, { total: number; meanPerSecond: number; peakPerSecond: number; throttled: number; p50Ms: number }>;
  /** Service time of the requests to services with few servers (the local emulator's), summed: 0 on AWS. */
  serverBusySeconds: number;
  rates: RateCheck[];
  /** Every rate under its quota (headroom ≥ 1) and nothing throttled. */
  underQuotas: boolean;
  invariants: {
    /** Chunks committed exactly once, more than once, and never. */
    committedOnce: number;
    committedTwice: number;
    lost: number;
    /** The fewest live PRESENT replicas of any chunk at the end, and how many chunks have fewer than R. */
    minLiveReplicas: number;
    chunksShortOfReplicas: number;
    replicationFactor: number;
  };
  failure?: {
    killed: number;
    detectionSecondsMax: number;
    detectionSecondsMean: number;
    /** From the kill until every killed node's leases and replicas were handed on. */
    recoverySecondsMax: number;
    /** From the kill until the last replica the recoveries re-placed was pulled (every shard back at R). */
    backToRSeconds: number;
    leaderChanges: number;
  };
  attempts: number;
  duplicatesAbsorbed: number;
  throttledChunks: number;
  peakInFlightMessages: number;
  cost: { perHour: { ec2: number; s3: number; dynamodb: number; sqs: number; cloudwatch: number; total: number }; run: number };
  simulation: { events: number; wallSeconds: number; seed: number; latency: string; controlPlane: string; chunkPath: string; placementGroups: number };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Figures from a simulation's outcome. */
export function reportOf(o: SimulationOutcome): SimulationReport {
  const s = o.scenario;
  const seconds = Math.max(o.makespanMs, 1) / 1000;
  const latencies = Float64Array.from(o.chunkLatenciesMs).sort();
  let once = 0;
  let twice = 0;
  let lost = 0;
  for (const n of o.commits) {
    if (n === 1) once++;
    else if (n > 1) twice++;
    else lost++;
  }
  const requests = Object.fromEntries(
    SERVICES.map((svc) => {
      const c = o.services.counts[svc];
      const sampled = Float64Array.from(o.services.latencies[svc]).sort();
      return [svc, { total: c.requests, meanPerSecond: c.requests / seconds, peakPerSecond: c.peakPerSecond, throttled: c.throttled, p50Ms: percentile(sampled, 50) }];
    }),
  ) as SimulationReport['requests'];
  const parts = o.services.partitions;
  const ddb = o.services.counts.dynamodb;
  const check = (what: string, mean: number, peak: number, quota: number): RateCheck => ({ what, mean, peak, quota, headroom: quota / Math.max(peak, mean, 1e-9) });
  const rates = [
    check('S3 GET per prefix (busiest prefix)', o.services.counts.s3.requests / seconds / Math.max(1, s.sourcePrefixes + s.processedPartitions), parts.s3Get.peak, QUOTAS.s3GetPerPrefix),
    check('S3 PUT per prefix (busiest prefix)', 0, parts.s3Put.peak, QUOTAS.s3PutPerPrefix),
    check('DynamoDB write units per partition (busiest item)', 0, parts.ddbWrite.peak, QUOTAS.dynamodbWritePerPartition),
    check('DynamoDB read units per partition (busiest item)', 0, parts.ddbRead.peak, QUOTAS.dynamodbReadPerPartition),
    check('DynamoDB write units, table', ddb.writeUnits / seconds, ddb.peakWriteUnitsPerSecond, QUOTAS.dynamodbTableWrite),
    check('DynamoDB read units, table', ddb.readUnits / seconds, ddb.peakReadUnitsPerSecond, QUOTAS.dynamodbTableRead),
    check('SQS messages in flight', 0, o.peakInFlightMessages, QUOTAS.sqsInFlight),
    check('CloudWatch PutMetricData per Region', o.services.counts.cloudwatch.requests / seconds, 0, QUOTAS.cloudwatchPutMetricData),
  ];
  const killed = o.nodes.filter((n) => n.killedAt !== undefined);
  const detections = killed.map((n) => ((n.declaredAt ?? Infinity) - (n.killedAt as number)) / 1000);
  const perHour = costPerHour(o, seconds);
  const perNodeCapacity = o.capacityByteMs / Math.max(1, o.nodes.length) / Math.max(o.makespanMs, 1);
  return {
    nodes: s.nodes,
    chunks: s.chunks,
    datasetBytes: s.datasetBytes,
    makespanSeconds: seconds,
    throughputBytesPerSecond: o.bytesCommitted / seconds,
    utilization: (o.bytesCommitted * 1000) / Math.max(1, o.capacityByteMs),
    perNodeCapacityBytesPerSecond: perNodeCapacity,
    chunkLatencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.length ? latencies[latencies.length - 1] : 0 },
    requests,
    serverBusySeconds: o.services.serverBusyMs / 1000,
    rates,
    underQuotas: rates.every((r) => r.headroom >= 1) && SERVICES.every((svc) => o.services.counts[svc].throttled === 0),
    invariants: {
      committedOnce: once,
      committedTwice: twice,
      lost,
      minLiveReplicas: o.minLiveReplicas,
      chunksShortOfReplicas: o.chunksShortOfReplicas,
      replicationFactor: s.config.replicationFactor,
    },
    ...(killed.length > 0
      ? {
          failure: {
            killed: killed.length,
            detectionSecondsMax: Math.max(...detections),
            detectionSecondsMean: detections.reduce((a, b) => a + b, 0) / detections.length,
            recoverySecondsMax: Math.max(...killed.map((n) => ((n.recoveredAt ?? Infinity) - (n.killedAt as number)) / 1000)),
            backToRSeconds: (o.repairedMs - Math.min(...killed.map((n) => n.killedAt as number))) / 1000,
            leaderChanges: o.leaderChanges,
          },
        }
      : {}),
    attempts: o.attempts,
    duplicatesAbsorbed: o.duplicatesSeen,
    throttledChunks: o.throttledChunks,
    peakInFlightMessages: o.peakInFlightMessages,
    cost: { perHour, run: (perHour.total * seconds) / 3600 },
    simulation: {
      events: o.events,
      wallSeconds: o.wallMs / 1000,
      seed: s.seed,
      latency: s.latency.name,
      controlPlane: s.controlPlane.name,
      chunkPath: s.chunkPath,
      placementGroups: s.placementGroups,
    },
  };
}

/** USD per hour at the run's request rates: EC2 on demand, S3 requests, DynamoDB on-demand units, SQS requests, PutMetricData. */
function costPerHour(o: SimulationOutcome, seconds: number): SimulationReport['cost']['perHour'] {
  const s = o.scenario;
  const perHour = 3600 / seconds;
  const c = o.services.counts;
  // Every S3 write counted is a PUT-class request; reads are GETs (and the chunker's HEADs).
  const lines = {
    ec2: s.nodes * s.instance.pricePerHour,
    s3: (c.s3.readUnits / 1000) * PRICES.s3GetPer1000 * perHour + (c.s3.writeUnits / 1000) * PRICES.s3PutPer1000 * perHour,
    dynamodb: (c.dynamodb.writeUnits / 1e6) * PRICES.dynamoWritePerMillion * perHour + (c.dynamodb.readUnits / 1e6) * PRICES.dynamoReadPerMillion * perHour,
    sqs: (c.sqs.requests / 1e6) * PRICES.sqsPerMillion * perHour,
    /** PutMetricData: USD 0.01 per 1,000 requests. */
    cloudwatch: (c.cloudwatch.requests / 1000) * 0.01 * perHour,
  };
  return { ...lines, total: Object.values(lines).reduce((a, b) => a + b, 0) };
}
