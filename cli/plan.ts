import { Option, type Command } from 'commander';
import { stateDirOption, usage as arg } from './options';
import { INSTANCE_TYPES } from '../lib/ops/capacity/aws-limits';
import { measureNodeThroughput } from '../lib/ops/capacity/measured-throughput';
import { renderPlan } from '../lib/ops/capacity/render-plan';
import { cloudWatchFor } from '../lib/ops/cloudwatch-client';
import { ASSUMED_NODE_THROUGHPUT, PLAN_DEFAULTS, planCapacity, type NodeThroughput } from '../lib/ops/plan';
import { parseRate, parseSize } from '../lib/units';
import { metricsStageFor } from './doctor';
import { resolveTarget } from '../lib/aws/target';

const number = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`'${v}' is not a number`);
  return n;
};

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
export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description('capacity plan for a dataset size and a target rate: nodes, chunk size, concurrency per node, S3 prefixes, the limit that binds, and an estimated AWS cost')
    .requiredOption('--size <size>', 'dataset size, e.g. 50TB', arg(parseSize))
    .requiredOption('--rate <rate>', 'target rate, e.g. 10GB/s', arg(parseRate))
    .option('--node-throughput <rate>', 'what one node processes, e.g. 800MB/s (default: measured from BytesProcessed of a recent run, else an assumption)', arg(parseRate))
    .addOption(new Option('--instance <type>', 'GPU instance type').choices(Object.keys(INSTANCE_TYPES)).default(PLAN_DEFAULTS.instanceType))
    .option('--chunk-size <size>', 'chunk size (default: chosen for the fleet and the limits)', arg(parseSize))
    .option('--object-size <size>', `mean object size (default ${PLAN_DEFAULTS.objectSizeBytes / 1e9} GB, assumed)`, arg(parseSize))
    .option('--replication <n>', `replication factor R (default ${PLAN_DEFAULTS.replicationFactor})`, arg(number))
    .option('--output-ratio <ratio>', `shard bytes per input byte (default ${PLAN_DEFAULTS.outputRatio}, assumed for gzip JSON Lines)`, arg(number))
    .option('--chunker-concurrency <n>', `the chunker's maxConcurrency (default ${PLAN_DEFAULTS.chunker.maxConcurrency})`, arg(number))
    .option('--json', 'print the plan as JSON')
    .option('--no-measure', 'do not read CloudWatch for a measured per-node throughput')
    .option('--metrics-stage <stage>', 'Stage dimension to measure from (default: local, or <stage> of a Shardline-<stage> stack)')
    .addOption(new Option('--stack <name>', 'measure from this deployment (default: the local environment, if any)'))
    .addOption(stateDirOption())
    .action(async (opts: PlanOptions) => {
      const plan = planCapacity({
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
      console.log(opts.json ? JSON.stringify(plan, null, 2) : renderPlan(plan));
    });
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
