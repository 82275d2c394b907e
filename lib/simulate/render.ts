/** The text `shardline simulate` prints: the figures, the quota checks, the invariants and the targets. */
import { formatBytes, formatRate, pct } from '../units';
import type { SimulationReport } from './report';
import { SERVICES } from './service-model';

/** One target of issue 15 and whether a report meets it. */
export interface TargetCheck {
  target: string;
  value: string;
  met: boolean;
}

const n = (v: number, digits = 0) => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The targets one report can show by itself: utilization, nothing lost, R replicas, detection, quotas. */
export function targetsOf(r: SimulationReport): TargetCheck[] {
  const checks: TargetCheck[] = [
    { target: 'cluster utilization ≥ 90%', value: pct(r.utilization), met: r.utilization >= 0.9 },
    {
      target: 'every chunk committed exactly once',
      value: `${n(r.invariants.committedOnce)} of ${n(r.chunks)} (${r.invariants.committedTwice} twice, ${r.invariants.lost} never)`,
      met: r.invariants.committedOnce === r.chunks,
    },
    {
      target: `never fewer than R = ${r.invariants.replicationFactor} live replicas at the end`,
      value: `fewest ${r.invariants.minLiveReplicas}, ${r.invariants.chunksShortOfReplicas} chunks short`,
      met: r.invariants.chunksShortOfReplicas === 0,
    },
    {
      target: 'every request rate under its quota',
      value: r.underQuotas
        ? 'yes'
        : r.rates
            .filter((x) => x.headroom < 1)
            .map((x) => x.what)
            .join('; ') || 'throttled',
      met: r.underQuotas,
    },
  ];
  if (r.failure) checks.push({ target: 'failure detected in < 5 s', value: `${r.failure.detectionSecondsMax.toFixed(2)} s at most`, met: r.failure.detectionSecondsMax < 5 });
  return checks;
}

export function renderSimulation(r: SimulationReport): string {
  const lines: string[] = [];
  lines.push(
    `${n(r.nodes)} nodes, ${formatBytes(r.datasetBytes)} in ${n(r.chunks)} chunks — simulated ${n(r.makespanSeconds, 1)} s in ${n(r.simulation.wallSeconds, 1)} s (${n(r.simulation.events)} events, seed ${r.simulation.seed})`,
    `  latency model ${r.simulation.latency}; control plane ${r.simulation.controlPlane}; chunk path ${r.simulation.chunkPath}; ${n(r.simulation.placementGroups)} placement groups`,
    '',
    `throughput        ${formatRate(r.throughputBytesPerSecond)} (${formatRate(r.throughputBytesPerSecond / r.nodes)} per node of ${formatRate(r.perNodeCapacityBytesPerSecond)} capacity)`,
    `utilization       ${pct(r.utilization)}`,
    `chunk latency     p50 ${n(r.chunkLatencyMs.p50 / 1000, 2)} s, p99 ${n(r.chunkLatencyMs.p99 / 1000, 2)} s, max ${n(r.chunkLatencyMs.max / 1000, 2)} s (receive to done)`,
    `attempts          ${n(r.attempts)} for ${n(r.chunks)} chunks; ${n(r.duplicatesAbsorbed)} duplicate deliveries absorbed by the lease; ${n(r.throttledChunks)} throttled requests`,
    '',
    'requests          total        mean/s      peak/s   throttled   p50',
  );
  for (const svc of SERVICES) {
    const q = r.requests[svc];
    lines.push(`  ${svc.padEnd(14)} ${n(q.total).padStart(12)} ${n(q.meanPerSecond, 1).padStart(12)} ${n(q.peakPerSecond).padStart(10)} ${n(q.throttled).padStart(10)}   ${n(q.p50Ms, 1)} ms`);
  }
  lines.push('', 'quotas (busiest second or mean)');
  for (const x of r.rates)
    lines.push(`  ${x.headroom >= 1 ? 'ok  ' : 'OVER'} ${x.what}: ${n(Math.max(x.peak, x.mean), 1)} of ${n(x.quota)} (${x.headroom >= 1000 ? '≥ 1,000' : n(x.headroom, 1)}× headroom)`);
  if (r.failure) {
    const f = r.failure;
    lines.push(
      '',
      `failure           ${f.killed} nodes killed: detected in ${f.detectionSecondsMean.toFixed(2)} s mean, ${f.detectionSecondsMax.toFixed(2)} s max; leases and replicas handed on within ${f.recoverySecondsMax.toFixed(2)} s; every chunk back at R after ${f.backToRSeconds.toFixed(1)} s; leader changes ${f.leaderChanges}`,
    );
  }
  const c = r.cost.perHour;
  lines.push(
    '',
    `cost per hour     USD ${n(c.total, 2)} (EC2 ${n(c.ec2, 2)}, S3 requests ${n(c.s3, 2)}, DynamoDB ${n(c.dynamodb, 2)}, SQS ${n(c.sqs, 2)}, PutMetricData ${n(c.cloudwatch, 2)}); this run USD ${n(r.cost.run, 2)}`,
    '',
    'targets',
  );
  for (const t of targetsOf(r)) lines.push(`  ${t.met ? 'met   ' : 'NOT MET'} ${t.target}: ${t.value}`);
  return lines.join('\n');
}
