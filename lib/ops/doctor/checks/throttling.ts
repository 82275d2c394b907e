import { chunkCost } from '../../capacity/chunk-cost';
import type { DoctorEvidence } from '../evidence';
import type { Finding } from '../finding';
import type { Figures } from '../figures';
import { formatCount, formatSize, perSecond } from '../../../units';
import { configuredSlots, significantThrottles, windowText } from './advice';

/** S3 answering SlowDown / 503: too many requests on too few prefixes. */
export function checkS3Throttling(e: DoctorEvidence, f: Figures): Finding | undefined {
  const count = e.metrics.throttles.s3;
  if (!significantThrottles(count, f.seconds)) return undefined;
  const cost = chunkCost({ replicationFactor: e.replication.factor, shardBytes: e.pipeline.chunkSizeBytes, chunkSeconds: 0, visibilityTimeoutSeconds: 120 });
  const evidence = [
    throttleLine('S3', 'SlowDown / 503', count, e, f),
    `the fleet made about ${perSecond(f.chunksPerSecond * cost.s3SourceGets, 'source GET')}, ${perSecond(f.chunksPerSecond * cost.s3ReplicaGets, 'replica GET')} and ${perSecond(f.chunksPerSecond * cost.s3ProcessedPuts, 'PUT')} (${formatSize(e.pipeline.chunkSizeBytes)} chunks)`,
    ...loweredConcurrency(e, f),
  ];
  const chunk = e.pipeline.chunkSizeBytes;
  const bigger = chunk < 64 * 1024 ** 2 ? ` and raise chunkSizeBytes from ${formatSize(chunk)} to 64 MiB (${Math.round((64 * 1024 ** 2) / chunk)}× fewer requests per byte)` : '';
  return {
    stage: 's3-throttling',
    severity: count >= Math.max(1, f.chunksPerSecond * f.seconds) ? 'critical' : 'warning',
    title: `S3 throttles: ${formatCount(count)} SlowDown responses in ${windowText(e.windowSeconds)}`,
    evidence,
    recommendation: `use more S3 prefixes: S3 serves about 3,500 PUT and 5,500 GET requests per second per partitioned prefix and splits a busy prefix only gradually; spread the source keys over more prefixes (e.g. datasets/<2 hex chars>/…)${bigger}`,
    score: 0.9 + 0.1 * Math.min(1, count / Math.max(1, e.metrics.chunksProcessed)),
  };
}

/** DynamoDB refusing ledger writes (throughput exceeded): too many writes per second, or one hot item. */
export function checkDynamoThrottling(e: DoctorEvidence, f: Figures): Finding | undefined {
  const count = e.metrics.throttles.dynamodb;
  if (!significantThrottles(count, f.seconds)) return undefined;
  const cost = chunkCost({ replicationFactor: e.replication.factor, shardBytes: e.pipeline.chunkSizeBytes, chunkSeconds: 0, visibilityTimeoutSeconds: 120 });
  const evidence = [
    throttleLine('DynamoDB', 'throughput exceeded', count, e, f),
    `the ledger takes about ${cost.ddbWriteUnits} write units per chunk (lease 1, commit transaction 2 × (2 + R=${e.replication.factor}), R replica updates): ${perSecond(f.chunksPerSecond * cost.ddbWriteUnits, 'write units')} at ${perSecond(f.chunksPerSecond, 'chunks')}`,
    ...loweredConcurrency(e, f),
  ];
  if (e.ledger.incompleteObjects > 0 && e.ledger.incompleteObjects <= 2) {
    evidence.push(`only ${e.ledger.incompleteObjects} object(s) in progress: every commit also updates its object's item, and one item takes at most 1,000 write units a second`);
  }
  const chunk = e.pipeline.chunkSizeBytes;
  return {
    stage: 'dynamodb-throttling',
    severity: count >= Math.max(1, f.chunksPerSecond * f.seconds) ? 'critical' : 'warning',
    title: `DynamoDB throttles: ${formatCount(count)} ledger requests refused in ${windowText(e.windowSeconds)}`,
    evidence,
    recommendation: `raise chunkSizeBytes from ${formatSize(chunk)} to ${formatSize(chunk * 4)} (a quarter of the ledger writes per byte); an on-demand table serves up to twice its previous peak at once, so for a step up set warm throughput on the ledger table`,
    score: 0.9 + 0.1 * Math.min(1, count / Math.max(1, e.metrics.chunksProcessed)),
  };
}

function throttleLine(service: string, what: string, count: number, e: DoctorEvidence, f: Figures): string {
  const perChunk = e.metrics.chunksProcessed > 0 ? `; ${(count / e.metrics.chunksProcessed).toFixed(2)} per chunk processed` : '';
  return `${service} answered ${formatCount(count)} requests with ${what} in ${windowText(e.windowSeconds)} (${perSecond(count / f.seconds)}${perChunk})`;
}

/** Agents halve their concurrency while throttled: show the nodes running below their configured slots. */
function loweredConcurrency(e: DoctorEvidence, f: Figures): string[] {
  const lowered = f.live.filter((n) => n.concurrency > 0 && n.concurrency < configuredSlots(n, e.pipeline.concurrencyPerNode));
  if (!lowered.length) return [];
  const shown = lowered
    .slice(0, 3)
    .map((n) => `${n.nodeId} ${n.concurrency} of ${configuredSlots(n, e.pipeline.concurrencyPerNode)}`)
    .join(', ');
  return [`agents lowered their concurrency while throttled: ${shown}${lowered.length > 3 ? ', …' : ''}`];
}
