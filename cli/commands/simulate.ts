import { concurrencyFor } from '../../lib/agent/work-consumer';
import { INSTANCE_TYPES } from '../../lib/ops/capacity/aws-limits';
import { RECORD_PATH_BYTES_PER_CORE } from '../../lib/records/record-path-figures';
import { chooseChunkSize } from '../../lib/ops/plan';
import { renderSimulation } from '../../lib/simulate/render';
import { simulate, type ChunkPath } from '../../lib/simulate/simulate';
import { runTargets } from '../../lib/simulate/targets';
import { formatRate, pct } from '../../lib/units';

interface SimulateOptions {
  nodes: number;
  size?: number;
  objectSize?: number;
  chunkSize?: number;
  instance: string;
  replication?: number;
  concurrency?: number;
  outputRatio?: number;
  chunkerConcurrency?: number;
  kill?: number;
  killAt?: number;
  latency: string;
  controlPlane: string;
  chunkPath: ChunkPath;
  seed: number;
  targets?: boolean;
  json?: boolean;
}

/** `shardline simulate`: one scenario's figures, or (`--targets`) issue 15's target scenarios. */
export async function simulateCommand(opts: SimulateOptions): Promise<void> {
  const common = {
    instanceType: opts.instance,
    objectBytes: opts.objectSize,
    outputRatio: opts.outputRatio,
    chunkerConcurrency: opts.chunkerConcurrency,
    latency: opts.latency,
    controlPlane: opts.controlPlane,
    chunkPath: opts.chunkPath,
    seed: opts.seed,
    config: { ...(opts.replication !== undefined ? { replicationFactor: opts.replication } : {}), ...(opts.concurrency !== undefined ? { concurrencyPerNode: opts.concurrency } : {}) },
    ...(opts.chunkSize !== undefined ? { chunkBytes: opts.chunkSize } : {}),
  };
  if (opts.targets) {
    // The targets need a long run: ten waves of chunks per work loop or more at 1,000 nodes (see docs/simulation.md).
    const result = runTargets(opts.size ?? 50e12, common, (run) => {
      if (!opts.json)
        console.log(
          `${run.name}: ${formatRate(run.report.throughputBytesPerSecond)}, utilization ${pct(run.report.utilization)}, simulated ${run.report.makespanSeconds.toFixed(0)} s in ${run.report.simulation.wallSeconds.toFixed(1)} s`,
        );
    });
    if (opts.json) console.log(JSON.stringify(result, null, 2));
    else for (const c of result.checks) console.log(`  ${c.met ? 'met    ' : 'NOT MET'} ${c.target}: ${c.value}`);
    if (result.checks.some((c) => !c.met)) process.exitCode = 1;
    return;
  }
  const report = simulate({
    ...common,
    chunkBytes: opts.chunkSize ?? chunkSizeFor(opts),
    nodes: opts.nodes,
    datasetBytes: opts.size ?? 1e12,
    ...(opts.kill ? { kill: { fraction: opts.kill, atMs: opts.killAt ?? 60_000 } } : {}),
  });
  console.log(opts.json ? JSON.stringify(report, null, 2) : renderSimulation(report));
}

/**
 * Without --chunk-size, the chunk size `plan` would choose for this fleet (about 20 chunks per
 * work loop, 8 to 256 MiB): 256 MiB for 50 TB on 1,000 nodes, which also keeps the run's events
 * (a dozen per chunk) within a minute.
 */
function chunkSizeFor(opts: SimulateOptions): number {
  const inst = INSTANCE_TYPES[opts.instance];
  const slots = opts.nodes * concurrencyFor({ gpus: inst.gpus, cpus: inst.vcpus }, { concurrencyPerNode: opts.concurrency ?? 4 });
  const rate = opts.nodes * Math.max(1, Math.floor(inst.vcpus / 4)) * RECORD_PATH_BYTES_PER_CORE;
  const size = opts.size ?? 1e12;
  return chooseChunkSize(size, slots, Math.min(opts.objectSize ?? 1e9, size), rate, opts.replication ?? 2).bytes;
}
