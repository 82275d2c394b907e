import type { DoctorEvidence } from '../evidence';
import type { Finding } from '../finding';
import { hasBacklog, isIdle, type Figures } from '../figures';
import { formatCount, formatRate, perSecond } from '../../../units';
import { busyLine, running, significantThrottles } from './advice';

/** Ingest events above this wait for the chunker rather than pass through it. */
const INGEST_BACKLOG = 10;

/** A paused, draining or stopped pipeline holds work back on purpose. */
export function checkControl(e: DoctorEvidence, f: Figures): Finding | undefined {
  if (running(e) || (f.backlog === 0 && f.ingestBacklog === 0)) return undefined;
  const state = e.pipeline.desired as string;
  const holds = state === 'DRAINING' ? 'new ingest waits until it is resumed' : 'nodes take no new chunks and the chunker plans nothing';
  return {
    stage: 'control',
    severity: 'warning',
    title: `the pipeline is ${state}: ${formatCount(f.backlog)} chunks and ${formatCount(f.ingestBacklog)} ingest events wait`,
    evidence: [
      `desired state ${state}${e.pipeline.reason ? ` (reason: ${e.pipeline.reason})` : ''}: ${holds}`,
      `work queue ${formatCount(f.backlog)}, ingest-events queue ${formatCount(f.ingestBacklog)}`,
    ],
    recommendation: 'resume when ready: shardline control resume --reason "<why>" (shardline control history shows who paused it and why)',
    score: 0.95,
  };
}

/** Ingest events pile up while the work queue is empty and the nodes idle: the chunker is the limit. */
export function checkChunker(e: DoctorEvidence, f: Figures): Finding | undefined {
  if (!running(e) || f.ingestBacklog < INGEST_BACKLOG || hasBacklog(f)) return undefined;
  if (f.utilization !== undefined && !isIdle(f)) return undefined;
  const evidence = [
    `ingest-events queue: ${formatCount(f.ingestBacklog)} events wait for the chunker`,
    `work queue: ${formatCount(f.backlog)} chunks waiting (the fleet holds ${formatCount(f.slots)} at once)`,
  ];
  if (f.utilization !== undefined) evidence.push(busyLine(e, f));
  const planned = e.metrics.chunker;
  if (planned.objectsPlanned > 0) evidence.push(`the chunker planned ${perSecond(planned.objectsPlanned / f.seconds, 'objects')} (${perSecond(planned.chunksPlanned / f.seconds, 'chunks')})`);
  if (e.queues.ingestEventsDlq.visible > 0) evidence.push(`${formatCount(e.queues.ingestEventsDlq.visible)} ingest events dead-lettered (shardline redrive --queue ingest after a fix)`);
  return {
    stage: 'chunker',
    severity: 'warning',
    title: `the chunker is the bottleneck: ${formatCount(f.ingestBacklog)} ingest events wait while the nodes idle`,
    evidence,
    recommendation:
      "raise the chunker's concurrency (stage config chunker.maxConcurrency, default 10; the SQS event source allows up to 1,000 and scales by about 300 concurrent invocations a minute) and check its errors and throttles on the dashboard",
    score: 0.6,
  };
}

/** Nodes wait for work with an empty queue while objects are still in progress: supply is the limit. */
export function checkStarved(e: DoctorEvidence, f: Figures): Finding | undefined {
  if (!running(e) || f.utilization === undefined || !isIdle(f)) return undefined;
  if (hasBacklog(f) || f.ingestBacklog >= INGEST_BACKLOG || e.ledger.incompleteObjects === 0) return undefined;
  const evidence = [
    `work queue: ${formatCount(f.backlog)} chunks waiting; ingest-events: ${formatCount(f.ingestBacklog)}`,
    busyLine(e, f),
    `${e.ledger.incompleteObjects} object(s) in progress, ${formatCount(e.ledger.chunksLeased)} chunk(s) leased`,
  ];
  let recommendation = 'data arrives slower than the fleet takes it: feed more at once (shardline ingest runs uploads in parallel; shardline run s3://bucket/prefix for data already in S3)';
  if (f.chunksPerSecond > 0 && f.utilization > 0) {
    evidence.push(`the fleet finished ${perSecond(f.chunksPerSecond, 'chunks')} (${formatRate(f.bytesPerSecond)}); busy it could do about ${perSecond(f.chunksPerSecond / f.utilization, 'chunks')}`);
    const enough = Math.max(1, Math.ceil((f.live.length * f.utilization) / 0.7));
    if (enough < f.live.length) recommendation += `, or scale in from ${f.live.length} to ${enough} node${enough === 1 ? '' : 's'} (70% busy at this rate)`;
  }
  return {
    stage: 'queue',
    severity: 'warning',
    title: `the queue starves the fleet: nodes are ${Math.round(f.utilization * 100)}% busy and nothing waits`,
    evidence,
    recommendation,
    score: 0.5,
  };
}

/** Work waits, the nodes idle, nothing throttles and the pipeline runs: the agents are not taking work. */
export function checkIdleBacklog(e: DoctorEvidence, f: Figures): Finding | undefined {
  if (!running(e) || !hasBacklog(f) || f.live.length === 0 || f.utilization === undefined || !isIdle(f)) return undefined;
  if (significantThrottles(e.metrics.throttles.s3 + e.metrics.throttles.dynamodb, f.seconds)) return undefined;
  return {
    stage: 'queue',
    severity: 'warning',
    title: `backlog: ${formatCount(f.backlog)} chunks wait but the nodes are ${Math.round(f.utilization * 100)}% busy`,
    evidence: [`work queue: ${formatCount(f.backlog)} visible, ${formatCount(e.queues.work.inFlight)} in flight (received, not deleted)`, busyLine(e, f)],
    recommendation: "the agents are not taking work: check shardline status (each node's OBEYS column and config version) and the agents' logs for receive or lease errors",
    score: 0.55,
  };
}
