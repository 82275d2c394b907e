import type { DoctorEvidence, NodeEvidence } from '../evidence';
import { THRESHOLDS, type Figures } from '../figures';
import { formatCount, pct } from '../../../units';

/** Slots a node gets from `concurrencyPerNode` (per GPU, capped at 2 × CPUs), as the agent computes them. */
export function configuredSlots(n: Pick<NodeEvidence, 'gpus' | 'cpus' | 'concurrency'>, concurrencyPerNode: number): number {
  if (!n.cpus) return concurrencyPerNode * Math.max(1, n.gpus ?? 1);
  return Math.max(1, Math.min(concurrencyPerNode * Math.max(1, n.gpus ?? 1), n.cpus * 2));
}

/**
 * A higher concurrencyPerNode that the live nodes' CPUs allow (the agent caps slots at 2 × CPUs),
 * doubling at most; undefined when the nodes are already at their cap.
 */
export function concurrencyRaise(e: DoctorEvidence, f: Figures): { from: number; to: number; cpus?: number } | undefined {
  const from = e.pipeline.concurrencyPerNode;
  const capped = f.live.map((n) => (n.cpus ? Math.floor((n.cpus * 2) / Math.max(1, n.gpus ?? 1)) : 64));
  const room = capped.length ? Math.min(...capped) : 0;
  const to = Math.min(from * 2, room, 64);
  if (to <= from) return undefined;
  const cpus = f.live.map((n) => n.cpus).filter((c): c is number => typeof c === 'number');
  return { from, to, ...(cpus.length ? { cpus: Math.min(...cpus) } : {}) };
}

/** "nodes 97% busy over 5m: 23.3 of 24 slots (3 nodes × 8)". */
export function busyLine(e: DoctorEvidence, f: Figures): string {
  const perNode = f.live.length ? Math.round(f.slots / f.live.length) : 0;
  const over = f.utilizationFrom === 'metrics' ? `over ${windowText(e.windowSeconds)}` : 'now (heartbeats; no ChunksInFlight metric)';
  const now = f.utilizationFrom === 'metrics' ? `; ${formatCount(f.inFlightNow)} in flight now` : '';
  return `nodes ${pct(f.utilization ?? 0)} busy ${over}: ${f.inFlight.toFixed(1)} of ${formatCount(f.slots)} slots (${f.live.length} node${f.live.length === 1 ? '' : 's'} × ${perNode})${now}`;
}

/** "5m", "90s", "1h". */
export function windowText(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** Throttling responses worth reporting: at least one a minute on average, and at least 3. */
export function significantThrottles(count: number, seconds: number): boolean {
  return count >= Math.max(3, (seconds / 60) * THRESHOLDS.throttlesPerMinute);
}

/** Whether the pipeline lets nodes take work (absent control state: it does). */
export function running(e: DoctorEvidence): boolean {
  return e.pipeline.desired === undefined || e.pipeline.desired === 'RUNNING';
}
