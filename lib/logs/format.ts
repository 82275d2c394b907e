/**
 * How `shardline logs` prints a record: one readable line (time, level, node, correlation ids,
 * message, the other fields as key=value), or the JSON line as written.
 */
import type { LogRecord } from './record';

/** Fields shown in their own columns, or noise on every line (Powertools and Lambda context keys). */
const NOT_EXTRA = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'app',
  'nodeId',
  'objectId',
  'chunkId',
  'attempt',
  'runId',
  'xray_trace_id',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
]);

/** `2026-11-02T10:00:01.234Z WARN  agent-1   chunk=…-000003 attempt=2 chunk failed  errorKind=throttled totalMs=812` */
export function formatRecord(record: LogRecord): string {
  const time = Number.isFinite(record.time) && record.time > 0 ? new Date(record.time).toISOString() : '-'.repeat(24);
  const level = (record.level ?? '-').toUpperCase().padEnd(5);
  const node = (record.node ?? '-').padEnd(9);
  if (!record.json) return `${time} ${level} ${node} ${record.raw}`;
  const f = record.fields;
  const ids: string[] = [];
  const chunkId = typeof f.chunkId === 'string' ? f.chunkId : undefined;
  if (f.objectId !== undefined && !(typeof f.objectId === 'string' && chunkId?.startsWith(`${f.objectId}-`))) ids.push(`object=${value(f.objectId)}`);
  if (f.chunkId !== undefined) ids.push(`chunk=${value(f.chunkId)}`);
  if (f.attempt !== undefined) ids.push(`attempt=${value(f.attempt)}`);
  if (f.runId !== undefined) ids.push(`run=${value(f.runId)}`);
  const extras = Object.entries(f)
    .filter(([k, v]) => !NOT_EXTRA.has(k) && v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}=${value(v)}`);
  return [time, level, node, ...ids, record.message, ...(extras.length ? [' ' + extras.join(' ')] : [])].join(' ');
}

/** The record as one JSON line: as written for JSON records; plain text wrapped with its time and source. */
export function formatRecordJson(record: LogRecord): string {
  if (record.json) return record.raw;
  return JSON.stringify({ timestamp: new Date(record.time).toISOString(), message: record.raw, nodeId: record.node, source: record.source, plainText: true });
}

function value(v: unknown): string {
  if (typeof v === 'string') return v === '' || /[\s="]/.test(v) ? JSON.stringify(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isError(v)) return JSON.stringify(`${v.name ? `${v.name}: ` : ''}${v.message}`);
  return JSON.stringify(v);
}

/** A serialized error as Powertools writes it (`{name, message, stack, location}`). */
function isError(v: unknown): v is { name?: string; message: string } {
  return typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string' && ('stack' in v || 'name' in v);
}
