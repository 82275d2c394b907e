/**
 * Decodes the S3 notification that arrives in an ingest-events SQS message body.
 *
 * S3 URL-encodes keys in events (`+` for space, `%2F` even for `/` on some emulators), sends an
 * `s3:TestEvent` when a notification is configured, and repeats events; none of this may reach
 * the planner as anything but a clean list of created objects.
 */

/** One created object named by an S3 event. */
export interface CreatedObject {
  bucket: string;
  key: string;
  versionId?: string;
  /** Size and ETag as the event saw them; the chunker trusts HeadObject, not these. */
  size?: number;
  eventName: string;
  /** Set for objects listed by a run over a prefix. */
  runId?: string;
}

/** What one message body decoded to. */
export type DecodedEvent = { kind: 'test' } | { kind: 'objects'; objects: CreatedObject[]; ignored: string[] };

/** Thrown for a message that is not an S3 event at all; the caller reports it, never drops it. */
export class MalformedEventError extends Error {
  constructor(reason: string) {
    super(`malformed S3 event: ${reason}`);
    this.name = 'MalformedEventError';
  }
}

/** Decodes an S3 event key: `+` is a space, the rest is percent-encoded UTF-8. */
export function decodeS3Key(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new MalformedEventError(`key is not valid percent-encoding: ${raw}`);
  }
}

/** The parts of an S3 notification record that are read; any of them may be missing. */
interface S3EventRecordJson {
  eventName?: unknown;
  s3?: { bucket?: { name?: unknown }; object?: { key?: unknown; size?: unknown; versionId?: unknown } };
}

/** Parses an SQS message body carrying an S3 event notification. */
export function decodeS3EventBody(body: string): DecodedEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new MalformedEventError('body is not JSON');
  }
  if (!parsed || typeof parsed !== 'object') throw new MalformedEventError('body is not an object');
  const event = parsed as { Event?: unknown; Records?: unknown; shardlineRun?: unknown };
  if (event.Event === 's3:TestEvent') return { kind: 'test' };
  if (event.shardlineRun !== undefined) return decodeRunRequest(event.shardlineRun);
  if (!Array.isArray(event.Records)) throw new MalformedEventError('no Records array');
  const objects: CreatedObject[] = [];
  const ignored: string[] = [];
  for (const record of event.Records as Array<S3EventRecordJson | null>) {
    const eventName = String(record?.eventName ?? '');
    if (!eventName.startsWith('ObjectCreated:')) {
      ignored.push(eventName || '(no eventName)');
      continue;
    }
    const bucket = record?.s3?.bucket?.name;
    const rawKey = record?.s3?.object?.key;
    if (typeof bucket !== 'string' || typeof rawKey !== 'string' || !bucket || !rawKey) {
      throw new MalformedEventError(`${eventName} record without bucket name or object key`);
    }
    const versionId = record?.s3?.object?.versionId;
    const size = record?.s3?.object?.size;
    objects.push({
      bucket,
      key: decodeS3Key(rawKey),
      ...(typeof versionId === 'string' && versionId && versionId !== 'null' ? { versionId } : {}),
      ...(typeof size === 'number' ? { size } : {}),
      eventName,
    });
  }
  return { kind: 'objects', objects, ignored };
}

/**
 * A page of keys listed by the run state machine (`{ shardlineRun: { runId, bucket, keys } }`):
 * objects already in S3 that a run over a prefix processes.
 */
function decodeRunRequest(run: unknown): DecodedEvent {
  const r = run as { runId?: unknown; bucket?: unknown; keys?: unknown };
  if (!r || typeof r.runId !== 'string' || !r.runId) throw new MalformedEventError('run request without runId');
  if (typeof r.bucket !== 'string' || !r.bucket) throw new MalformedEventError('run request without bucket');
  if (!Array.isArray(r.keys) || r.keys.some((k) => typeof k !== 'string' || !k)) throw new MalformedEventError('run request keys must be a list of object keys');
  const runId = r.runId;
  const bucket = r.bucket;
  return { kind: 'objects', objects: (r.keys as string[]).map((key) => ({ bucket, key, runId, eventName: 'shardline:Run' })), ignored: [] };
}

/** Objects a log line names at most for one message body. */
const LOGGED_OBJECTS = 10;

/** One object as a log names it. */
export interface LoggedObject {
  eventName: string;
  bucket?: string;
  key?: string;
}

/** What a log line may say about an ingest message body (see `ingestEventLogFields`). */
export type IngestEventLogFields = { bodyBytes: number; parseError: string } | { eventName: string; bucket?: string; runId?: string; keys?: number } | { records: number; objects: LoggedObject[] };

/**
 * What a log may say about an ingest message body: the event names, buckets and keys it names,
 * never the rest of the notification (`userIdentity`, `requestParameters.sourceIPAddress`,
 * `responseElements`: requester principals and source IPs). Parsed leniently: any shape gives a
 * field set, a body that is not JSON its length and the parse error, without the text V8 quotes.
 */
export function ingestEventLogFields(body: string): IngestEventLogFields {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    return { bodyBytes: Buffer.byteLength(body), parseError: withoutQuotedSource((err as Error).message) };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return { bodyBytes: Buffer.byteLength(body), parseError: 'body is not a JSON object' };
  const event = parsed as { Event?: unknown; Bucket?: unknown; Records?: unknown; shardlineRun?: unknown };
  if (event.Event !== undefined) return { eventName: String(event.Event).slice(0, 100), ...stringField('bucket', event.Bucket) };
  if (event.shardlineRun && typeof event.shardlineRun === 'object') {
    const run = event.shardlineRun as { runId?: unknown; bucket?: unknown; keys?: unknown };
    return { eventName: 'shardline:Run', ...stringField('runId', run.runId), ...stringField('bucket', run.bucket), ...(Array.isArray(run.keys) ? { keys: run.keys.length } : {}) };
  }
  const records = Array.isArray(event.Records) ? (event.Records as unknown[]) : [];
  const objects = records.slice(0, LOGGED_OBJECTS).map((r): LoggedObject => {
    const record = (r && typeof r === 'object' ? r : {}) as S3EventRecordJson;
    const rawKey = record.s3?.object?.key;
    return {
      eventName: typeof record.eventName === 'string' ? record.eventName.slice(0, 100) : '(no eventName)',
      ...stringField('bucket', record.s3?.bucket?.name),
      ...(typeof rawKey === 'string' ? { key: leniently(decodeS3Key, rawKey) } : {}),
    };
  });
  return { records: records.length, objects };
}

function stringField<K extends string>(name: K, value: unknown): Partial<Record<K, string>> {
  return typeof value === 'string' ? ({ [name]: value.slice(0, 1100) } as Record<K, string>) : {};
}

function leniently(decode: (raw: string) => string, raw: string): string {
  try {
    return decode(raw);
  } catch {
    return raw;
  }
}

/** A JSON.parse message without the source text V8 quotes in it (`Unexpected token 'x', "…" is not valid JSON`). */
function withoutQuotedSource(message: string): string {
  return message.replace(/, ".*" is not valid JSON$/s, ' (not valid JSON)').slice(0, 200);
}
