import { checkDeadNodes, checkTooFewNodes } from './checks/nodes';
import { checkDynamoThrottling, checkS3Throttling } from './checks/throttling';
import { checkSlowStage } from './checks/stages';
import { checkChunker, checkControl, checkIdleBacklog, checkStarved } from './checks/supply';
import { checkReplication, checkSkew } from './checks/distribution';
import { checkErrors, checkMetrics } from './checks/errors';
import { busyLine, windowText } from './checks/advice';
import type { DoctorEvidence } from './evidence';
import { figuresOf, type Figures } from './figures';
import { rankFindings, type Diagnosis, type Finding } from './finding';
import { formatCount, formatMs, formatRate, pct, perSecond } from '../../units';

type Check = (e: DoctorEvidence, f: Figures) => Finding | undefined;

/** Every check; each looks at one kind of limit and returns at most one finding. */
const CHECKS: Check[] = [
  checkDeadNodes,
  checkControl,
  checkS3Throttling,
  checkDynamoThrottling,
  checkSlowStage,
  checkTooFewNodes,
  checkChunker,
  checkStarved,
  checkIdleBacklog,
  checkReplication,
  checkSkew,
  checkErrors,
  checkMetrics,
];

/**
 * Names the bottleneck from the evidence: ranked findings (most severe, then strongest first),
 * each with its figures and a concrete action, and a verdict. `healthy` when work flows and no
 * check finds more than information; `idle` when there was nothing to do. Pure.
 */
export function diagnose(e: DoctorEvidence): Diagnosis {
  const f = figuresOf(e);
  const findings = rankFindings(CHECKS.map((check) => check(e, f)).filter((x): x is Finding => x !== undefined));
  const summary = summaryLines(e, f);
  const top = findings.find((x) => x.severity !== 'info');
  if (top) return { verdict: 'bottleneck', headline: `bottleneck: ${top.title}`, findings, summary };
  if (!f.active) {
    return { verdict: 'idle', headline: `no bottleneck: nothing to do in the last ${windowText(e.windowSeconds)} (queues empty, no chunk processed)`, findings, summary };
  }
  const busy = f.utilization !== undefined ? `nodes ${pct(f.utilization)} busy, ` : '';
  const replicas = e.replication.belowR === 0 ? 'replicas at R' : `${formatCount(e.replication.belowR)} shard(s) still being pulled to R`;
  return {
    verdict: 'healthy',
    headline: `no bottleneck: the fleet keeps up (${busy}work queue ${formatCount(f.backlog)}, ${formatRate(f.bytesPerSecond)}), ${replicas}, no throttling`,
    findings,
    summary,
  };
}

/** The window's key figures, whatever the verdict. */
function summaryLines(e: DoctorEvidence, f: Figures): string[] {
  const lines = [
    `throughput ${formatRate(f.bytesPerSecond)}, ${perSecond(f.chunksPerSecond, 'chunks')} over ${windowText(e.windowSeconds)}${e.metrics.present ? '' : ' (no metrics)'}`,
    `queues: work ${formatCount(f.backlog)} waiting / ${formatCount(e.queues.work.inFlight)} in flight, ingest-events ${formatCount(f.ingestBacklog)}, DLQs ${formatCount(e.queues.workDlq.visible)} + ${formatCount(e.queues.ingestEventsDlq.visible)}`,
    f.slots > 0 ? busyLine(e, f) : `nodes: ${f.live.length} live of ${e.nodes.length} registered`,
    `replicas: ${formatCount(e.replication.shards)} shards, ${formatCount(e.replication.belowR)} below R=${e.replication.factor}, ${formatCount(e.replication.pendingPulls)} pulls pending`,
  ];
  const slowest = f.shares[0];
  if (slowest) {
    const kind = e.metrics.percentiles ? 'p90' : 'mean';
    const ms = e.metrics.percentiles && slowest.stat.p90Ms !== undefined ? slowest.stat.p90Ms : slowest.stat.meanMs;
    lines.push(`slowest stage: ${slowest.stage} (${pct(slowest.share)} of a chunk's time; ${kind} ${formatMs(ms)})`);
  }
  if (e.pipeline.desired && e.pipeline.desired !== 'RUNNING') lines.push(`pipeline ${e.pipeline.desired}`);
  return lines;
}
