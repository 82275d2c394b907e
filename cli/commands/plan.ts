import { measureNodeThroughput } from '../../lib/ops/capacity/measured-throughput';
import { renderPlan } from '../../lib/ops/capacity/render-plan';
import { cloudWatchFor } from '../../lib/ops/cloudwatch-client';
import { ASSUMED_NODE_THROUGHPUT, planCapacity, type NodeThroughput } from '../../lib/ops/plan';
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
  metricsStage?: string;
  stack?: string;
  stateDir: string;
}

/** `shardline plan`: nodes, chunk size, concurrency, S3 prefixes and an estimated cost for a size and a rate. */
export async function plan(opts: PlanOptions): Promise<void> {
  const capacityPlan = planCapacity({
    datasetBytes: opts.size,
    targetBytesPerSecond: opts.rate,
    nodeThroughput: await nodeThroughputFor(opts),
    instanceType: opts.instance,
    chunkSizeBytes: opts.chunkSize,
    objectSizeBytes: opts.objectSize,
    replicationFactor: opts.replication,
    outputRatio: opts.outputRatio,
    chunker: opts.chunkerConcurrency !== undefined ? { maxConcurrency: opts.chunkerConcurrency } : undefined,
  });
  console.log(opts.json ? JSON.stringify(capacityPlan, null, 2) : renderPlan(capacityPlan));
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
