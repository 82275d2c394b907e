import type { CapacityPlan, LimitCheck } from '../plan';
import { formatCount, formatBytes, formatRate, formatSize, perSecond } from '../../units';

const usd = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** The plan as text: sizing, the load on each service, the limits with their headroom, cost, assumptions. */
export function renderPlan(p: CapacityPlan): string {
  const i = p.input;
  const h = Math.floor(p.hours);
  const m = Math.round((p.hours - h) * 60);
  const lines = [
    `PLAN ${formatBytes(i.datasetBytes)} at ${formatRate(i.targetBytesPerSecond)} on ${p.instance.type} (R=${i.replicationFactor}): ${p.hours.toFixed(2)} h (${h}h${String(m).padStart(2, '0')}m) at the target rate`,
    `THROUGHPUT ${formatRate(i.nodeThroughput.bytesPerSecond)} per node, ${i.nodeThroughput.source}${i.nodeThroughput.emulator ? ' on a local emulator: it bounds the figure, so this plan is not one for AWS hosts (pass --node-throughput)' : i.nodeThroughput.source === 'assumed' ? ' (see ASSUMPTIONS; pass --node-throughput)' : ''}`,
    '',
    `NODES      ${p.nodes} × ${p.instance.type}, bound by ${p.binding.limit}: ${p.binding.why}`,
    `PER NODE   ${formatRate(p.perNode.bytesPerSecond)} · ${p.perNode.chunksInFlight} chunks in flight (one S3 stream each, ~85 MB/s) · concurrencyPerNode ${p.perNode.concurrencyPerNode} (${p.instance.gpus} GPU${p.instance.gpus === 1 ? '' : 's'}) · cache ${formatBytes(p.perNode.cacheBytes)} of ${formatBytes(p.instance.localStorageBytes)}`,
    `CHUNKS     ${formatSize(p.chunk.sizeBytes)} (${p.chunk.reason}) · ${formatCount(p.chunk.perObject)} per object · ${formatCount(p.chunk.total)} in all · ${perSecond(p.chunk.perSecond)} · ${p.chunk.seconds.toFixed(2)} s each`,
    `S3         source ${perSecond(p.s3.sourceGetsPerSecond, 'GET')} → ${p.s3.sourcePrefixes} prefix(es) · processed ${perSecond(p.s3.processedPutsPerSecond, 'PUT')} and ${perSecond(p.s3.replicaGetsPerSecond, 'replica GET')} → ${p.s3.processedPrefixes} partition(s)`,
    `DYNAMODB   ${perSecond(p.dynamodb.writeUnitsPerSecond, 'WCU')} (${p.chunk.cost.ddbWriteUnits} per chunk), ${perSecond(p.dynamodb.readUnitsPerSecond, 'RCU')}; one object's item ${perSecond(p.dynamodb.objectItemWriteUnitsPerSecond, 'WCU')}`,
    `SQS        ${perSecond(p.sqs.requestsPerSecond, 'requests')} (standard queues: nearly unlimited)`,
    `CHUNKER    ${perSecond(p.chunker.objectsPerSecond, 'objects')} · concurrency ${p.chunker.concurrency} (chunker.maxConcurrency ${i.chunker.maxConcurrency}) · reached in ${p.chunker.rampMinutes.toFixed(1)} min at +300/min`,
    '',
    'LIMITS (demand / capacity, headroom)',
    ...p.limits.map(limitLine),
  ];
  if (p.exceeded.length) lines.push('', `EXCEEDED (${p.exceeded.length}): change the plan before running it`, ...p.exceeded.map((x) => `  ✗ ${x}`));
  const c = p.cost;
  const row = (name: string, k: keyof typeof c.perHour) => `  ${name.padEnd(12)}${usd(c.perHour[k]).padStart(14)}${usd(c.dataset[k]).padStart(16)}`;
  lines.push(
    '',
    `COST (estimate, us-east-1 on-demand, prices of ${c.pricesTaken})`,
    `  ${''.padEnd(12)}${'per hour'.padStart(14)}${'for the dataset'.padStart(16)}`,
    row('EC2', 'ec2'),
    row('S3 requests', 's3Requests'),
    row('DynamoDB', 'dynamodb'),
    row('SQS', 'sqs'),
    row('Lambda', 'lambda'),
    row('total', 'total'),
    `  ${c.note}`,
    '',
    'ASSUMPTIONS',
    ...p.assumptions.map((a) => `  · ${a}`),
  );
  return lines.join('\n');
}

function limitLine(l: LimitCheck): string {
  const value = (n: number) => (l.unit.startsWith('B/s') ? formatRate(n) : l.unit.startsWith('B ') ? formatBytes(n) : formatCount(n));
  const unit = l.unit.startsWith('B/s') ? l.unit.slice(3) : l.unit.startsWith('B ') ? l.unit.slice(1) : ` ${l.unit}`;
  const head = Number.isFinite(l.headroom) ? `${l.headroom >= 100 ? '≥100' : l.headroom.toFixed(2)}×` : '∞';
  return `  ${l.headroom < 1 ? '✗' : '✓'} ${l.limit.padEnd(44)} ${value(l.demand)} / ${value(l.capacity)}${unit} (${head}) ${l.note}`;
}
