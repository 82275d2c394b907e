/**
 * `shardline plan` sized by the simulator: the analytic capacity plan (lib/ops/plan.ts) whose fleet
 * is simulated, grown while the simulated rate misses the target, and planned again at the
 * simulated per-node rate.
 */
import { CHUNKS_PER_SLOT, planCapacity, type CapacityPlan, type PlanInput } from '../ops/plan';
import { formatRate } from '../units';
import { simulate, type SimulationReport } from './simulate';

/** What the simulator said about a plan's fleet (see `planWithSimulation`). */
export interface PlanSimulation {
  /** Nodes the analytic sizing asked for, and the nodes the simulation showed the target needs. */
  analyticNodes: number;
  nodes: number;
  /** The simulated slice of the dataset: enough chunks for every work loop to take about `CHUNKS_PER_SLOT` of them. */
  datasetBytes: number;
  throughputBytesPerSecond: number;
  utilization: number;
  chunkLatencyMs: { p50: number; p99: number };
  underQuotas: boolean;
  rounds: number;
  report: SimulationReport;
}

/**
 * The capacity plan with its throughput and node count taken from the simulator: the analytic
 * plan's fleet is simulated (the real scheduling rules, modelled AWS services) over a slice of the
 * dataset that gives every work loop about CHUNKS_PER_SLOT chunks; while the simulated rate falls
 * short of the target, the fleet grows by the shortfall and is simulated again (at most 3 rounds).
 * The plan is then made again with the simulated per-node rate, so its nodes, limits and cost are
 * the simulated fleet's.
 */
export function planWithSimulation(raw: PlanInput, opts: { seed?: number } = {}): CapacityPlan & { simulation: PlanSimulation } {
  const analytic = planCapacity(raw);
  const input = analytic.input;
  const run = (nodes: number) => {
    const slots = nodes * analytic.perNode.chunksInFlight;
    const datasetBytes = Math.min(input.datasetBytes, Math.max(analytic.chunk.sizeBytes * slots * CHUNKS_PER_SLOT, input.objectSizeBytes));
    const report = simulate({
      nodes,
      datasetBytes,
      objectBytes: Math.min(input.objectSizeBytes, datasetBytes),
      chunkBytes: analytic.chunk.sizeBytes,
      instanceType: input.instanceType,
      // The plan's per-node rate is what a node's record path takes: one worker at that rate.
      recordWorkers: 1,
      recordBytesPerCore: input.nodeThroughput.bytesPerSecond,
      outputRatio: input.outputRatio,
      chunkerConcurrency: input.chunker.maxConcurrency,
      config: {
        replicationFactor: input.replicationFactor,
        visibilityTimeoutSeconds: input.visibilityTimeoutSeconds,
        concurrencyPerNode: Math.min(64, Math.max(1, analytic.perNode.concurrencyPerNode)),
      },
      seed: opts.seed ?? 1,
    });
    return { nodes, datasetBytes, report };
  };
  let sim = run(analytic.nodes);
  let rounds = 1;
  while (sim.report.throughputBytesPerSecond < input.targetBytesPerSecond && rounds < 3) {
    sim = run(Math.ceil(sim.nodes * (input.targetBytesPerSecond / sim.report.throughputBytesPerSecond) - 1e-9));
    rounds++;
  }
  const perNode = sim.report.throughputBytesPerSecond / sim.nodes;
  const plan =
    sim.nodes === analytic.nodes
      ? analytic
      : planCapacity({
          ...raw,
          nodeThroughput: {
            ...input.nodeThroughput,
            bytesPerSecond: perNode,
            note: `${input.nodeThroughput.note}; simulated: ${formatRate(perNode)} per node on ${sim.nodes} nodes (${(sim.report.utilization * 100).toFixed(1)}% utilization)`,
          },
        });
  return {
    ...plan,
    simulation: {
      analyticNodes: analytic.nodes,
      nodes: plan.nodes,
      datasetBytes: sim.datasetBytes,
      throughputBytesPerSecond: sim.report.throughputBytesPerSecond,
      utilization: sim.report.utilization,
      chunkLatencyMs: { p50: sim.report.chunkLatencyMs.p50, p99: sim.report.chunkLatencyMs.p99 },
      underQuotas: sim.report.underQuotas,
      rounds,
      report: sim.report,
    },
  };
}
