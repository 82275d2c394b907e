import { measureNodeThroughput } from '../../lib/ops/capacity/measured-throughput';
import { renderPlan } from '../../lib/ops/capacity/render-plan';
import { cloudWatchFor } from '../../lib/ops/cloudwatch-client';
import { ASSUMED_NODE_THROUGHPUT, planCapacity, type NodeThroughput } from '../../lib/ops/plan';
import { planWithSimulation, type PlanSimulation } from '../../lib/simulate/plan-fleet';
import { formatBytes, formatRate } from '../../lib/units';
import { metricsStageFor } from '../options';
import { resolveTarget } from '../../lib/aws/target';

interface PlanOptions {
  size: number;
  rate: number;
  nodeThroughput?: number;
  instance: string;
  chunkSize?: number;
  objectSize?: number;
  replication?: number;
  outputRatio?: number;
  chunkerConcurrency?: number;
  json?: boolean;
  measure: boolean;
  simulate: boolean;
  metricsStage?: string;
  stack?: string;
  stateDir: string;
}

/**
 * `shardline plan`: nodes, chunk size, concurrency, S3 prefixes and an estimated cost for a size
 * and a rate; the throughput and node count come from the simulator unless `--no-simulate`.
 */
export async function plan(opts: PlanOptions): Promise<void> {
  const input = {
    datasetBytes: opts.size,
    targetBytesPerSecond: opts.rate,
    nodeThroughput: await nodeThroughputFor(opts),
    instanceType: opts.instance,
    chunkSizeBytes: opts.chunkSize,
    objectSizeBytes: opts.objectSize,
    replicationFactor: opts.replication,
    outputRatio: opts.outputRatio,
    chunker: opts.chunkerConcurrency !== undefined ? { maxConcurrency: opts.chunkerConcurrency } : undefined,
  };
  if (!opts.simulate) {
    const capacityPlan = planCapacity(input);
    console.log(opts.json ? JSON.stringify(capacityPlan, null, 2) : renderPlan(capacityPlan));
    return;
  }
  const simulated = planWithSimulation(input);
  if (opts.json) {
    const { report, ...figures } = simulated.simulation;
    console.log(JSON.stringify({ ...simulated, simulation: { ...figures, requests: report.requests, rates: report.rates } }, null, 2));
    return;
  }
  console.log(`${renderPlan(simulated)}\n\n${renderSimulated(simulated.simulation)}`);
}

/** The simulator's part of the plan: what it ran and what it showed. */
function renderSimulated(s: PlanSimulation): string {
  const sized = s.nodes === s.analyticNodes ? `confirms ${s.nodes} nodes` : `changes the analytic ${s.analyticNodes} nodes to ${s.nodes}`;
  return [
    `SIMULATED  ${sized} (shardline simulate over ${formatBytes(s.datasetBytes)}, ${s.rounds} round${s.rounds === 1 ? '' : 's'}): ${formatRate(s.throughputBytesPerSecond)} on ${s.report.nodes} nodes, utilization ${(s.utilization * 100).toFixed(1)}%`,
    `           chunk latency p50 ${(s.chunkLatencyMs.p50 / 1000).toFixed(2)} s, p99 ${(s.chunkLatencyMs.p99 / 1000).toFixed(2)} s · every request rate under its quota: ${
      s.underQuotas
        ? 'yes'
        : 'NO (' +
          s.report.rates
            .filter((r) => r.headroom < 1)
            .map((r) => r.what)
            .join('; ') +
          ')'
    }`,
  ].join('\n');
}

/** The given figure, else one measured from a recent run's metrics, else the documented assumption (saying why). */
async function nodeThroughputFor(opts: PlanOptions): Promise<NodeThroughput> {
  if (opts.nodeThroughput !== undefined) return { bytesPerSecond: opts.nodeThroughput, source: 'given', note: 'given with --node-throughput' };
  if (!opts.measure) return ASSUMED_NODE_THROUGHPUT;
  let why: string;
  try {
    const target = await resolveTarget(opts);
    const stage = opts.metricsStage ?? metricsStageFor(opts.stack);
    const measured = await measureNodeThroughput(cloudWatchFor(target.clients), { stage, end: new Date(), emulator: Boolean(target.endpoint) });
    if (measured) return measured;
    why = `no BytesProcessed of Stage=${stage} in the last 3 h`;
  } catch (err) {
    why = (err as Error).message.split('\n')[0];
  }
  return { ...ASSUMED_NODE_THROUGHPUT, note: `${ASSUMED_NODE_THROUGHPUT.note} (no measurement: ${why})` };
}
