import type { DoctorEvidence } from '../evidence';
import type { Finding } from '../finding';
import { hasBacklog, nodesNeeded, THRESHOLDS, type Figures } from '../figures';
import { formatAge } from '../../../observability/format';
import { formatCount, formatRate, perSecond } from '../../../units';
import { busyLine, concurrencyRaise, running, significantThrottles } from './advice';

/**
 * Dead or silent nodes: declared DEAD in the window, DEAD with leases still held or not yet
 * recovered, or silent past the heartbeat timeout without being declared (no failure detector).
 */
export function checkDeadNodes(e: DoctorEvidence, f: Figures): Finding | undefined {
  const since = e.collectedAt - e.windowSeconds * 1000;
  const timeoutMs = e.pipeline.heartbeatTimeoutSeconds * 1000;
  const dead = e.nodes.filter((n) => n.status === 'DEAD' && ((n.deadAt ?? 0) >= since || n.leasesHeld > 0 || n.recoveredAt === undefined));
  const silent = e.nodes.filter((n) => n.health === 'stale');
  if (!dead.length && !silent.length) return undefined;

  const evidence: string[] = [];
  for (const n of dead) {
    const when = n.deadAt !== undefined ? ` ${formatAge(e.collectedAt - n.deadAt)} ago` : '';
    const how = n.silentForMs !== undefined ? ` (silent ${formatAge(n.silentForMs)} when declared${n.detectedBy ? ` by ${n.detectedBy}` : ''})` : '';
    const recovered = n.recoveredAt !== undefined && n.deadAt !== undefined ? `; its work was handed back ${formatAge(n.recoveredAt - n.deadAt)} later` : '; its work is not yet handed back';
    evidence.push(`${n.nodeId} declared DEAD${when}${how}${recovered}`);
    if (n.leasesHeld > 0) evidence.push(`${formatCount(n.leasesHeld)} chunk lease(s) still held by ${n.nodeId}`);
  }
  for (const n of silent) evidence.push(`${n.nodeId} silent for ${formatAge(n.heartbeatAgeMs)} (timeout ${formatAge(timeoutMs)}) but not declared DEAD; leader: ${e.pipeline.leader ?? 'none'}`);
  if (e.metrics.leaderChanges > 0) evidence.push(`the leader changed ${e.metrics.leaderChanges} time(s) in the window`);
  const h = e.metrics.healthyNodes;
  if (h && h.min < h.max) evidence.push(`healthy nodes fell from ${h.max} to ${h.min} in the window (now ${Math.round(h.last)})`);
  const total = f.live.length + dead.length + silent.length;
  if (total > 0) evidence.push(`capacity: ${f.live.length} of ${total} nodes live (${Math.round((100 * (dead.length + silent.length)) / total)}% lost)`);
  if (e.replication.belowR > 0) evidence.push(`${formatCount(e.replication.belowR)} shards below R=${e.replication.factor} while replicas are re-placed`);

  const undetected = silent.some((n) => n.heartbeatAgeMs > 3 * timeoutMs);
  const stuck = dead.some((n) => n.leasesHeld > 0 || n.recoveredAt === undefined);
  const names = [...dead, ...silent].map((n) => n.nodeId).join(', ');
  let recommendation: string;
  if (silent.length && !e.pipeline.leader) {
    recommendation = `no agent holds the leader lease, so nobody declares ${silent.map((n) => n.nodeId).join(', ')} dead: start agents (their leases otherwise expire only after the visibility timeout)`;
  } else if (undetected) {
    recommendation = `the leader (${e.pipeline.leader}) should have declared ${silent.map((n) => n.nodeId).join(', ')} dead within seconds: read the leader's log for failure-detector errors`;
  } else {
    recommendation = `replace ${names}: on AWS the ECS service starts a new task (check the service events and the Auto Scaling group); locally restart the agents (shardline local up --endpoint <same endpoint>). Its shards are re-placed on the live nodes.`;
  }
  return {
    stage: 'dead-node',
    severity: undetected || stuck ? 'critical' : 'warning',
    title: `dead node${dead.length + silent.length > 1 ? 's' : ''}: ${names}`,
    evidence,
    recommendation,
    score: 0.9,
  };
}

/**
 * Too few nodes: work waits on the queue while every node runs at full concurrency (and nothing
 * throttles, which would make more nodes worse), or no node is live at all.
 */
export function checkTooFewNodes(e: DoctorEvidence, f: Figures): Finding | undefined {
  if (!running(e)) return undefined;
  if (f.live.length === 0 && (f.backlog > 0 || f.ingestBacklog > 0 || e.ledger.incompleteObjects > 0)) {
    return {
      stage: 'too-few-nodes',
      severity: 'critical',
      title: `no live node: ${formatCount(f.backlog)} chunks wait`,
      evidence: [`${e.nodes.length} registered node(s), none heartbeating`, `work queue: ${formatCount(f.backlog)} chunks waiting; ${e.ledger.incompleteObjects} object(s) incomplete`],
      recommendation: 'start agents: on AWS check the ECS service and the Auto Scaling group (desired count, capacity); locally shardline local up',
      score: 1,
    };
  }
  const throttled = significantThrottles(e.metrics.throttles.s3 + e.metrics.throttles.dynamodb, f.seconds);
  if (throttled || !hasBacklog(f) || (f.utilization ?? 0) < THRESHOLDS.saturated) return undefined;

  const evidence = [`work queue: ${formatCount(f.backlog)} chunks waiting (the fleet holds ${formatCount(f.slots)} at once)`, busyLine(e, f)];
  if (f.chunksPerSecond > 0) {
    const planned = f.plannedPerSecond !== undefined ? `; the chunker plans ${perSecond(f.plannedPerSecond, 'chunks')}` : '';
    evidence.push(`the fleet finishes ${perSecond(f.chunksPerSecond, 'chunks')} (${formatRate(f.bytesPerSecond)})${planned}`);
  }
  const wait = e.metrics.latency.queueWait;
  if (wait) evidence.push(`a chunk waits ${formatAge(wait.meanMs)} on the queue on average before a node takes it`);
  if (e.metrics.oldestWorkMessageAgeSeconds !== undefined) evidence.push(`the oldest work message is ${formatAge(e.metrics.oldestWorkMessageAgeSeconds * 1000)} old (AWS/SQS)`);

  const needed = nodesNeeded(f);
  const add = needed !== undefined ? Math.max(1, needed - f.live.length) : undefined;
  const target = f.plannedPerSecond !== undefined ? `keep up with ${perSecond(f.plannedPerSecond, 'chunks')} and drain` : 'drain';
  let recommendation =
    add !== undefined
      ? `add ${add} node${add === 1 ? '' : 's'} (${f.live.length} → ${f.live.length + add}) to ${target} the ${formatCount(f.backlog)} waiting chunks in about ${THRESHOLDS.drainSeconds / 60} minutes`
      : `add nodes: every node is busy and ${formatCount(f.backlog)} chunks wait`;
  const io = f.shares.filter((s) => s.stage === 'download' || s.stage === 'upload').reduce((n, s) => n + s.share, 0);
  const raise = concurrencyRaise(e, f);
  if (raise && io >= 0.5) {
    recommendation += `; or first raise concurrencyPerNode from ${raise.from} to ${raise.to} (shardline config set concurrencyPerNode=${raise.to}): ${Math.round(io * 100)}% of a chunk's time is S3 I/O, and the nodes${raise.cpus ? ` (${raise.cpus} vCPUs)` : ''} allow more chunks in flight`;
  }
  return { stage: 'too-few-nodes', severity: 'warning', title: `too few nodes: every node is busy and ${formatCount(f.backlog)} chunks wait`, evidence, recommendation, score: 0.5 };
}
