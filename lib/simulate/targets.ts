/**
 * Issue 15's targets for the simulator, each from its own scenario: utilization of at least 90% at
 * 100 and at 1,000 nodes; throughput at 1,000 nodes at least 9.5× that at 100; 20% of 1,000
 * nodes killed mid-run with nothing lost, every chunk back at R, detection under 5 s; every
 * request rate under its quota at 10 GB/s.
 */
import { simulate, type ScenarioInput, type SimulationReport } from './simulate';
import type { TargetCheck } from './render';

/**
 * The chunker's maxConcurrency for a fleet: the stack's default (10) up to 500 nodes, then one more
 * per 50 nodes. At 1,000 nodes of 100 MB/s on 1 GB objects the fleet takes 100 objects a second and
 * one invocation plans one in about 0.1 s (invocation, HEAD, two ledger writes, a batch send), so
 * 10 invocations give the fleet barely more than it takes: the simulator shows work loops starving
 * (90% utilization at 20 TB), and 20 leave room. `plan` reports the chunker concurrency a rate needs.
 */
export function chunkerConcurrencyFor(nodes: number): number {
  return Math.max(10, Math.ceil(nodes / 50));
}

export interface TargetRun {
  name: string;
  report: SimulationReport;
}

export interface TargetsResult {
  runs: TargetRun[];
  checks: TargetCheck[];
}

/**
 * Runs the target scenarios over `datasetBytes` (the figure is 50 TB; tests use less)
 * with the given common input (latency model, control plane, seed...).
 */
export function runTargets(datasetBytes: number, common: Partial<ScenarioInput> = {}, onRun?: (run: TargetRun) => void): TargetsResult {
  const runs: TargetRun[] = [];
  const run = (name: string, input: Partial<ScenarioInput> & { nodes: number }) => {
    const chunkerConcurrency = common.chunkerConcurrency ?? chunkerConcurrencyFor(input.nodes);
    const r = { name, report: simulate({ chunkBytes: 256 * 1024 ** 2, ...common, chunkerConcurrency, datasetBytes, ...input }) };
    runs.push(r);
    onRun?.(r);
    return r.report;
  };
  const hundred = run('100 nodes', { nodes: 100 });
  const thousand = run('1,000 nodes', { nodes: 1000 });
  const killed = run('1,000 nodes, 20% killed at 40% of the run', { nodes: 1000, kill: { fraction: 0.2, atMs: Math.round(thousand.makespanSeconds * 400) } });
  // 10 GB/s: as many nodes as that rate needs at the per-node capacity the 100-node run measured.
  const nodesFor10 = Math.ceil(10e9 / hundred.perNodeCapacityBytesPerSecond - 1e-6);
  const tenGB = nodesFor10 === 100 ? hundred : run(`${nodesFor10} nodes (10 GB/s)`, { nodes: nodesFor10 });
  const ratio = thousand.throughputBytesPerSecond / hundred.throughputBytesPerSecond;
  const f = killed.failure;
  const checks: TargetCheck[] = [
    { target: 'utilization ≥ 90% at 100 nodes', value: `${(hundred.utilization * 100).toFixed(1)}%`, met: hundred.utilization >= 0.9 },
    { target: 'utilization ≥ 90% at 1,000 nodes', value: `${(thousand.utilization * 100).toFixed(1)}%`, met: thousand.utilization >= 0.9 },
    { target: 'throughput at 1,000 nodes ≥ 9.5× that at 100', value: `${ratio.toFixed(2)}×`, met: ratio >= 9.5 },
    {
      target: '20% of 1,000 killed: every chunk committed exactly once',
      value: `${killed.invariants.committedOnce} of ${killed.chunks} once, ${killed.invariants.committedTwice} twice, ${killed.invariants.lost} lost`,
      met: killed.invariants.committedOnce === killed.chunks,
    },
    {
      target: '20% of 1,000 killed: never fewer than R replicas after recovery',
      value: `fewest live replicas ${killed.invariants.minLiveReplicas} (R = ${killed.invariants.replicationFactor}), ${killed.invariants.chunksShortOfReplicas} short`,
      met: killed.invariants.chunksShortOfReplicas === 0 && killed.invariants.minLiveReplicas >= killed.invariants.replicationFactor,
    },
    { target: '20% of 1,000 killed: detection < 5 s', value: f ? `${f.detectionSecondsMax.toFixed(2)} s at most (${f.killed} killed)` : 'no failure happened', met: !!f && f.detectionSecondsMax < 5 },
    {
      target: `every request rate under its quota at 10 GB/s (${nodesFor10} nodes)`,
      value: tenGB.underQuotas
        ? `yes (${(tenGB.throughputBytesPerSecond / 1e9).toFixed(2)} GB/s)`
        : tenGB.rates
            .filter((x) => x.headroom < 1)
            .map((x) => x.what)
            .join('; ') || 'throttled',
      met: tenGB.underQuotas,
    },
  ];
  return { runs, checks };
}
