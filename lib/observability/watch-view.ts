import { formatBytes, formatCount } from '../units';
import { formatAge, progressBar, sparkline, truncate } from './format';
import { cacheSummary, gpuSummary } from './node-format';
import type { NodeHealth, PipelineSnapshot, SnapshotObject } from './snapshot';
import type { ThroughputPoint } from './throughput';

export interface WatchViewOptions {
  /** Terminal columns. @default 100 */
  width?: number;
  /** Object rows shown before "… and N more". @default 12 */
  maxObjects?: number;
  /** ANSI colours (off for pipes and tests). @default false */
  color?: boolean;
  intervalMs?: number;
  /** An error from the last collection, shown above a now stale view. */
  staleError?: string;
}

const paint = (on: boolean, code: number) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);

const HEALTH_COLOUR: Record<NodeHealth, number> = { healthy: 32, joining: 36, draining: 33, stale: 33, dead: 31 };

/**
 * Renders one frame of `shardline status --watch` as plain lines (with optional ANSI colours):
 * throughput with a sparkline, totals, queue depths, nodes, per-object progress bars, replicas
 * below R, the leader and recent errors. Pure: the caller clears the screen and prints it.
 */
export function renderWatchView(snapshot: PipelineSnapshot, history: ThroughputPoint[], opts: WatchViewOptions = {}): string {
  const width = Math.max(40, opts.width ?? 100);
  const color = opts.color ?? false;
  const bold = paint(color, 1);
  const red = paint(color, 31);
  const dim = paint(color, 2);
  const lines: string[] = [];
  const clock = new Date(snapshot.collectedAt).toISOString().slice(11, 19);
  lines.push(truncate(`shardline · ${snapshot.label} · ${clock} UTC · every ${((opts.intervalMs ?? 1000) / 1000).toFixed(1)}s (collected in ${snapshot.collectMs} ms) · Ctrl-C to quit`, width));
  if (opts.staleError) lines.push(red(truncate(`last refresh failed: ${opts.staleError}`, width)));
  const c = snapshot.control;
  if (c) {
    const last = c.action ? ` after ${c.action}${c.requestedBy ? ` by ${c.requestedBy}` : ''}${c.reason ? `: ${c.reason}` : ''}` : '';
    const line = truncate(`PIPELINE ${c.desired}${c.emergency ? ' (emergency stop)' : ''}${last} · config version ${c.configVersion}`, width);
    lines.push(c.desired === 'RUNNING' ? line : paint(color, 33)(line));
  }
  const l = snapshot.leader;
  lines.push(l && l.expiresInMs > 0 ? `LEADER ${l.holder} (fencing token ${l.token})` : red('LEADER none (no live agent holds the lease)'));

  const now = history[history.length - 1];
  const sparkWidth = Math.max(10, Math.min(60, width - 60));
  lines.push('');
  lines.push(
    `${bold('THROUGHPUT')}  ${formatBytes(now?.bytesPerSec ?? 0, 'fixed')}/s  ${formatCount(now?.recordsPerSec ?? 0)} rec/s  in flight ${snapshot.totals.chunksInFlight}  ` +
      sparkline(
        history.map((p) => p.bytesPerSec),
        sparkWidth,
      ),
  );
  const t = snapshot.totals;
  lines.push(
    truncate(
      `TOTAL       ${formatBytes(t.bytesProcessed, 'fixed')} of ${formatBytes(t.bytesTotal, 'fixed')} · chunks ${t.chunksDone}/${t.chunkCount} · records in ${formatCount(t.recordsIn)}, ` +
        `out ${formatCount(t.recordsOut)}, rejected ${formatCount(t.recordsRejected)}, filtered ${formatCount(t.recordsFiltered)}`,
      width,
    ),
  );

  lines.push('', `${bold('QUEUES')}            visible  in-flight  delayed`);
  const q = snapshot.queues;
  for (const [name, depth, isDlq] of [
    ['work', q.work, false],
    ['work DLQ', q.workDlq, true],
    ['ingest-events', q.ingestEvents, false],
    ['ingest-events DLQ', q.ingestEventsDlq, true],
  ] as const) {
    const row = truncate(
      `  ${name.padEnd(17)} ${String(depth.visible).padStart(7)}  ${String(depth.inFlight).padStart(9)}  ${String(depth.delayed).padStart(7)}${depth.error ? `  (unreadable: ${depth.error})` : ''}`,
      width,
    );
    lines.push(isDlq && depth.visible + depth.inFlight > 0 ? red(row) : row);
  }

  lines.push('', bold(`NODES (${snapshot.nodes.length})`));
  lines.push(
    truncate(`  ${'NODE'.padEnd(14)} ${'HEALTH'.padEnd(8)} ${'STATUS'.padEnd(8)} ${'IN-FLIGHT'} ${'DONE'.padStart(5)} ${'HEARTBEAT'} CONFIG ${'DOMAIN'.padEnd(10)} ${'CACHE'.padEnd(28)} HOST`, width),
  );
  for (const n of snapshot.nodes) {
    const inFlight = `${n.load?.inFlight ?? 0}/${n.load?.concurrency ?? '?'}`;
    const health = n.health.padEnd(8);
    const row = truncate(
      `  ${truncate(n.nodeId, 14).padEnd(14)} ${health} ${n.status.padEnd(8)} ${inFlight.padStart(9)} ${String(n.load?.chunksDone ?? 0).padStart(5)} ` +
        `${formatAge(n.heartbeatAgeMs).padStart(9)} ${(n.configVersion !== undefined ? `v${n.configVersion}` : '-').padEnd(6)} ${n.failureDomain.padEnd(10)} ` +
        `${cacheSummary(n.cache, n.cacheCapacityBytes).padEnd(28)} ${n.instanceType}${n.gpus ? ` ${gpuSummary(n)}` : ''}${n.networkBandwidth ? ` ${n.networkBandwidth}` : ''}`,
      width,
    );
    lines.push(row.replace(` ${health} `, ` ${paint(color, HEALTH_COLOUR[n.health])(health)} `));
  }

  const objects = orderObjects(snapshot.objects);
  const maxObjects = opts.maxObjects ?? 12;
  lines.push('', bold(`OBJECTS (${objects.length})`));
  const barWidth = Math.max(10, Math.min(30, width - 80));
  for (const o of objects.slice(0, maxObjects)) lines.push(objectLine(o, barWidth, width, color));
  if (objects.length > maxObjects) lines.push(dim(`  … and ${objects.length - maxObjects} more`));

  const r = snapshot.replicas;
  lines.push(
    '',
    `${bold('REPLICAS')}  R=${snapshot.replicationFactor}  shards ${r.shards}  below R ${r.belowR > 0 ? red(String(r.belowR)) : '0'}  pending pulls ${r.pendingPulls}  refused ${r.refused > 0 ? red(String(r.refused)) : '0'}  flagged short ${r.flaggedShort}`,
  );
  for (const s of r.worst.slice(0, 5)) lines.push(truncate(`  ${s.chunkId}  ${s.live}/${snapshot.replicationFactor} live  ${s.objectKey}`, width));

  lines.push('', bold(`ERRORS (${snapshot.errors.length})`));
  if (snapshot.errors.length === 0) lines.push(dim('  none'));
  for (const e of snapshot.errors.slice(0, 8)) {
    const where = e.chunk !== undefined ? ` chunk ${e.chunk}${e.attempt ? ` (attempt ${e.attempt})` : ''}` : '';
    lines.push(red(truncate(`  ${e.kind.padEnd(8)} ${e.objectKey}${where}: ${e.message.replace(/\s+/g, ' ')}`, width)));
  }
  if (snapshot.errors.some((e) => e.kind === 'FAILED')) lines.push(dim('  after a fix: shardline redrive'));
  return lines.join('\n');
}

/** Objects in progress first (oldest first), then failed, then complete (newest first). */
function orderObjects(objects: SnapshotObject[]): SnapshotObject[] {
  const rank = (o: SnapshotObject) => (o.failedChunks > 0 || o.status === 'FAILED' ? 1 : o.status === 'COMPLETE' ? 2 : 0);
  return objects
    .map((o, i) => ({ o, i }))
    .sort((a, b) => rank(a.o) - rank(b.o) || (rank(a.o) === 2 ? b.i - a.i : a.i - b.i))
    .map((x) => x.o);
}

function objectLine(o: SnapshotObject, barWidth: number, width: number, color: boolean): string {
  const pct = o.chunkCount > 0 ? Math.floor((o.chunksDone / o.chunkCount) * 100) : 0;
  const failed = o.failedChunks > 0 || o.status === 'FAILED';
  const state = failed ? `${o.status === 'QUARANTINED' ? 'QUARANTINED' : 'FAILED'}(${o.failedChunks})` : o.status;
  const bar = paint(color, failed ? 31 : o.status === 'COMPLETE' ? 32 : 36)(progressBar(o.chunksDone, o.chunkCount, barWidth));
  // The state is padded so every row's key column has the same width, then the padding is trimmed.
  const tail = ` ${bar} ${String(pct).padStart(3)}%  ${`${o.chunksDone}/${o.chunkCount}`.padStart(7)} chunks  ${formatBytes(o.bytesDone, 'fixed').padStart(8)}  ${state.padEnd(12)}`;
  const keyWidth = Math.max(12, Math.min(48, width - (tail.length - (color ? 9 : 0)) - 2));
  return `  ${truncateStart(o.key, keyWidth).padEnd(keyWidth)}${tail}`.trimEnd();
}

/** Keeps the end of a key (its file name), cutting the start with `…`. */
function truncateStart(text: string, width: number): string {
  return text.length <= width ? text : `…${text.slice(text.length - width + 1)}`;
}
