import type { DoctorEvidence, LatencyStat, NodeEvidence } from './evidence';

/** The stages of a chunk on a node, whose times add up to (most of) its total. */
export const WORK_STAGES = ['download', 'process', 'upload', 'commit'] as const;
export type WorkStage = (typeof WORK_STAGES)[number];

export interface StageShare {
  stage: WorkStage;
  stat: LatencyStat;
  /** Mean time of the stage over the mean total per chunk (means add up; percentiles do not). */
  share: number;
}

/** Figures derived from the evidence that several checks use. */
export interface Figures {
  seconds: number;
  /** Nodes that heartbeat (healthy or draining). */
  live: NodeEvidence[];
  /** Chunks the live nodes may work on at once (Σ concurrency). */
  slots: number;
  /** Chunks in flight over the fleet (mean per node from ChunksInFlight × live nodes, else the heartbeats now). */
  inFlight: number;
  /** inFlight / slots; undefined without slots. */
  utilization?: number;
  /** Chunks in flight by the heartbeats now, and their share of the slots. */
  inFlightNow: number;
  utilizationNow?: number;
  utilizationFrom: 'metrics' | 'heartbeats';
  bytesPerSecond: number;
  chunksPerSecond: number;
  /** Chunks planned per second by the chunker, when it publishes metrics. */
  plannedPerSecond?: number;
  /** Chunk messages waiting on the work queue (visible + delayed). */
  backlog: number;
  /** Events waiting for the chunker. */
  ingestBacklog: number;
  /** Mean total per chunk (the total metric, else the sum of the stages). */
  totalMeanMs?: number;
  shares: StageShare[];
  /** Whether anything was worked on or waited to be in the window. */
  active: boolean;
}

/** Derives the shared figures. */
export function figuresOf(e: DoctorEvidence): Figures {
  const m = e.metrics;
  const seconds = Math.max(1, e.windowSeconds);
  const live = e.nodes.filter((n) => n.health === 'healthy' || n.health === 'draining');
  const slots = live.reduce((n, x) => n + Math.max(0, x.concurrency), 0);
  const fromMetrics = m.inFlight !== undefined;
  // Mean per reporting node × live nodes, rather than Σ / window: right even when the window
  // reaches back before the nodes started.
  const inFlightNow = live.reduce((n, x) => n + x.inFlight, 0);
  const inFlight = fromMetrics ? (m.inFlight?.meanPerNode ?? 0) * live.length : inFlightNow;
  const stageMeans = WORK_STAGES.map((stage) => ({ stage, stat: m.latency[stage] })).filter((s): s is { stage: WorkStage; stat: LatencyStat } => s.stat !== undefined);
  const totalMeanMs = m.latency.total?.meanMs ?? (stageMeans.length ? stageMeans.reduce((n, s) => n + s.stat.meanMs, 0) : undefined);
  const shares = totalMeanMs ? stageMeans.map((s) => ({ ...s, share: s.stat.meanMs / totalMeanMs })).sort((a, b) => b.share - a.share) : [];
  const backlog = e.queues.work.visible + e.queues.work.delayed;
  const ingestBacklog = e.queues.ingestEvents.visible + e.queues.ingestEvents.delayed;
  return {
    seconds,
    live,
    slots,
    inFlight,
    ...(slots > 0 ? { utilization: Math.min(1, inFlight / slots) } : {}),
    inFlightNow,
    ...(slots > 0 ? { utilizationNow: Math.min(1, inFlightNow / slots) } : {}),
    utilizationFrom: fromMetrics ? 'metrics' : 'heartbeats',
    bytesPerSecond: m.bytesProcessed / seconds,
    chunksPerSecond: m.chunksProcessed / seconds,
    ...(m.chunker.chunksPlanned > 0 ? { plannedPerSecond: m.chunker.chunksPlanned / seconds } : {}),
    backlog,
    ingestBacklog,
    ...(totalMeanMs !== undefined ? { totalMeanMs } : {}),
    shares,
    active: m.chunksProcessed > 0 || backlog > 0 || ingestBacklog > 0 || e.ledger.chunksLeased > 0 || inFlight > 0 || e.ledger.incompleteObjects > 0,
  };
}

/** Thresholds the checks share, named so that their reasons can be read. */
export const THRESHOLDS = {
  /** A fleet this busy has no free slot to speak of. */
  saturated: 0.85,
  /** A fleet less busy than this waits for work. */
  idle: 0.5,
  /** A stage taking this share of a chunk's time is the slow stage. */
  dominantShare: 0.6,
  /** Drain a backlog within this long when sizing the fleet. */
  drainSeconds: 900,
  /** Throttling below one response a minute is noise. */
  throttlesPerMinute: 1,
  /** S3 gives about this much per connection (one chunk reads through one ranged GET). */
  s3BytesPerConnection: 85e6,
} as const;

/**
 * The nodes wait for work: over the window and now. Both, because a window that reaches back
 * before a burst of work averages a busy fleet down.
 */
export function isIdle(f: Figures): boolean {
  return f.utilization !== undefined && f.utilization < THRESHOLDS.idle && (f.utilizationNow ?? 0) < THRESHOLDS.idle;
}

/** The backlog is more than the fleet can hold in flight at once. */
export function hasBacklog(f: Figures): boolean {
  return f.backlog > Math.max(1, f.slots);
}

/** Nodes needed to finish `chunksPerSecond` of arrivals and drain the backlog in THRESHOLDS.drainSeconds. */
export function nodesNeeded(f: Figures): number | undefined {
  const nodes = f.live.length;
  if (nodes === 0 || f.chunksPerSecond <= 0) return undefined;
  const perNode = f.chunksPerSecond / nodes;
  const arrivals = f.plannedPerSecond ?? f.chunksPerSecond;
  return Math.ceil((arrivals + f.backlog / THRESHOLDS.drainSeconds) / perNode);
}
