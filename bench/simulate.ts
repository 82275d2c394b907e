/**
 * `npx tsx bench/simulate.ts [TB]`: issue 15's target scenarios at full
 * size (50 TB by default): 100 and 1,000 nodes, 1,000 with 20% killed at 40% of the run, and 10 GB/s;
 * prints each run's figures, the checks, and how long each simulation took on this machine.
 */
import { runTargets } from '../lib/simulate/targets';

const terabytes = Number(process.argv[2] ?? 50);
const started = Date.now();
const result = runTargets(terabytes * 1e12, {}, ({ name, report: r }) =>
  console.log(
    `${name}: ${(r.throughputBytesPerSecond / 1e9).toFixed(2)} GB/s, utilization ${(r.utilization * 100).toFixed(1)}%, chunk p50 ${(r.chunkLatencyMs.p50 / 1000).toFixed(2)} s p99 ${(r.chunkLatencyMs.p99 / 1000).toFixed(2)} s, ` +
      `USD ${r.cost.perHour.total.toFixed(2)}/h; ${r.chunks} chunks, ${r.simulation.events} events, simulated ${r.makespanSeconds.toFixed(0)} s in ${r.simulation.wallSeconds.toFixed(1)} s` +
      (r.failure ? `; ${r.failure.killed} killed: detection ≤ ${r.failure.detectionSecondsMax.toFixed(2)} s, back at R after ${r.failure.backToRSeconds.toFixed(1)} s` : ''),
  ),
);
for (const c of result.checks) console.log(`  ${c.met ? 'met    ' : 'NOT MET'} ${c.target}: ${c.value}`);
console.log(`${terabytes} TB, all runs: ${((Date.now() - started) / 1000).toFixed(1)} s`);
if (result.checks.some((c) => !c.met)) process.exitCode = 1;
