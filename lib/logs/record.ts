/**
 * One log line as the searchers see it. Agents and the chunker write Powertools Logger JSON, one
 * object per line (`level`, `message`, `timestamp`, `service`, correlation keys...); a process's
 * stderr lands in the same file, so a line may also be plain text. Both are records: plain text
 * has no level or fields and borrows a time from its neighbours.
 */

/** Where records come from: a local log file, or a CloudWatch Logs group. */
export interface LogSource {
  /** Shown with each record: a file path, or a log group name. */
  readonly label: string;
  /** The node that writes this source, for records without a `nodeId` (e.g. `chunker`). */
  readonly node?: string;
}

export interface LogRecord {
  /** Epoch ms: the record's `timestamp`, else the time the source gives the line. */
  readonly time: number;
  /** `level` as written (Powertools: upper case), absent for plain text. */
  readonly level?: string;
  readonly message: string;
  /** The parsed JSON object; empty for plain text. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** The line exactly as written (without its line break). */
  readonly raw: string;
  /** False for a plain-text line. */
  readonly json: boolean;
  /** `nodeId` of the record, else the node of its source. */
  readonly node?: string;
  /** Label of the source (file path; log group and stream). */
  readonly source: string;
  /** Position within its source (byte offset, event index): orders records of equal time. */
  readonly seq: number;
}

/** Epoch ms of a record's `timestamp` (ISO string or epoch number), if it has a usable one. */
export function timestampOf(fields: Readonly<Record<string, unknown>>): number | undefined {
  const t = fields.timestamp;
  const ms = typeof t === 'string' ? Date.parse(t) : typeof t === 'number' ? t : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

/** The JSON object on a line, or undefined when the line is not one (plain text, arrays, numbers). */
export function parseJsonObject(line: string): Record<string, unknown> | undefined {
  const first = line.charCodeAt(0);
  if (first !== 0x7b /* { */) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds the record of one line. `fallbackTime` is used when the line has no timestamp (plain
 * text, or JSON without one): the caller knows the neighbouring lines or the event's own time.
 */
export function toLogRecord(line: string, source: LogSource, seq: number, fallbackTime: number, fields = parseJsonObject(line)): LogRecord {
  if (!fields) return { time: fallbackTime, message: line, fields: {}, raw: line, json: false, node: source.node, source: source.label, seq };
  const node = typeof fields.nodeId === 'string' ? fields.nodeId : source.node;
  return {
    time: timestampOf(fields) ?? fallbackTime,
    level: typeof fields.level === 'string' ? fields.level : undefined,
    message: typeof fields.message === 'string' ? fields.message : fields.message === undefined ? '' : JSON.stringify(fields.message),
    fields,
    raw: line,
    json: true,
    node,
    source: source.label,
    seq,
  };
}

/** Oldest first; equal times keep their source's order. */
export function compareRecords(a: LogRecord, b: LogRecord): number {
  return a.time - b.time || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0) || a.seq - b.seq;
}

/** The `limit` most recent of `records`, oldest first. */
export function mostRecent(records: LogRecord[], limit: number): LogRecord[] {
  const sorted = [...records].sort(compareRecords);
  return sorted.slice(Math.max(0, sorted.length - limit));
}
