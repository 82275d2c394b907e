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
