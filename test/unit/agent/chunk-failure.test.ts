import type { SQSClient } from '@aws-sdk/client-sqs';
import { giveBackFailedChunk } from '../../../lib/agent/chunk-failure';
import type { ChunkWorkerDeps, LeasedChunk } from '../../../lib/agent/chunk-work';
import { classifyChunkError } from '../../../lib/agent/error-kind';
import type { ChunkMessage } from '../../../lib/chunking/chunk';
import type { ChunkLease, ChunkLedger } from '../../../lib/ledger/chunk-ledger';
import type { ObjectOutcome } from '../../../lib/ledger/object-outcome';
import { isObjectInputError, ObjectInputError, OBJECT_INPUT_ERROR_PREFIX } from '../../../lib/records/input-limits';
import { memoryLog } from './fakes';
import { VirtualClock } from './virtual-clock';

const msg: ChunkMessage = {
  v: 1,
  objectId: 'ab12',
  chunkId: 'ab12-000000',
  index: 0,
  chunkCount: 1,
  bucket: 'ingest',
  key: 'in/bomb.jsonl.gz',
  etag: '"e"',
  objectSize: 1000,
  start: 0,
  end: 1000,
  format: 'jsonl',
  compression: 'gzip',
};
const lease: ChunkLease = { objectId: 'ab12', index: 0, chunkId: 'ab12-000000', owner: 'node-a', attempt: 1, failures: 0 };

/** The ledger calls a failed attempt makes, recorded; `quarantineFails` makes the ledger refuse to answer. */
function fakeLedger(opts: { quarantineFails?: boolean } = {}) {
  const calls: string[] = [];
  const ledger = {
    quarantine: async (_l: ChunkLease, error: string, _m: ChunkMessage, now: Date) => {
      calls.push(`quarantine ${now.toISOString()}`);
      if (opts.quarantineFails) throw new Error('ProvisionedThroughputExceededException');
      return { newly: true, reason: `chunk 0: ${error}` };
    },
    recordError: async () => void calls.push('recordError'),
    release: async () => void calls.push('release'),
  } as unknown as ChunkLedger;
  return { ledger, calls };
}

/** A worker on a virtual clock whose SQS client records each command. */
function worker(opts: { quarantineFails?: boolean } = {}) {
  const sent: Array<{ command: string; input: Record<string, unknown> }> = [];
  const sqs = { send: async (cmd: { constructor: { name: string }; input: Record<string, unknown> }) => void sent.push({ command: cmd.constructor.name, input: cmd.input }) } as unknown as SQSClient;
  const { ledger, calls } = fakeLedger(opts);
  const outcomes: ObjectOutcome[] = [];
  const clock = new VirtualClock(Date.parse('2026-11-30T08:00:00Z'));
  const log = memoryLog();
  const deps = { sqs, workQueueUrl: 'work', chunks: ledger, log, clock, maxReceiveCount: 5, onObjectOutcome: (o: ObjectOutcome) => void outcomes.push(o) } as unknown as ChunkWorkerDeps;
  return { deps, sent, calls, outcomes, log, clock };
}

/** The first of five receives: far from the DLQ. */
const firstReceive: LeasedChunk = {
  msg,
  lease,
  receipt: 'r1',
  leaseMs: 60_000,
  started: 0,
  sentAt: 0,
  reported: { chunkId: msg.chunkId, objectId: msg.objectId, attempt: 1 },
  receives: 1,
  lastReceive: false,
};
const fail = (err: unknown) => ({ err, phase: 'work' as const, stages: {}, logKeys: { chunkId: msg.chunkId } });

const bomb = () => new ObjectInputError('the gzip object decompresses more than maxCompressionRatio (200) times its size: 70000000 bytes from 68000 (a decompression bomb?)');

describe('isObjectInputError', () => {
  it('recognises the error thrown on this thread and its structured clone from a record worker, which keeps only the message', () => {
    const cloned = structuredClone(new ObjectInputError('invalid CSV header: column "a" appears twice'));
    expect(cloned).not.toBeInstanceOf(ObjectInputError);
    expect(cloned.name).toBe('Error');
    expect(cloned.message).toBe(`${OBJECT_INPUT_ERROR_PREFIX}invalid CSV header: column "a" appears twice`);
    expect([isObjectInputError(bomb()), isObjectInputError(cloned)]).toEqual([true, true]);
  });

  it('leaves other errors alone, a raw zlib error included', () => {
    expect(isObjectInputError(Object.assign(new Error('incorrect header check'), { code: 'Z_DATA_ERROR' }))).toBe(false);
    expect(isObjectInputError('unusable input')).toBe(false);
    expect(isObjectInputError(undefined)).toBe(false);
  });

  it('does not stack the marker when a message that already has it is wrapped again', () => {
    expect(new ObjectInputError(bomb().message).message).toBe(bomb().message);
  });
});

describe('classifyChunkError for unusable input', () => {
  it('calls an ObjectInputError, on this thread or cloned from a worker, an input error', () => {
    expect(classifyChunkError(bomb(), 'work')).toBe('input');
    expect(classifyChunkError(structuredClone(bomb()), 'work')).toBe('input');
  });
});

describe('giveBackFailedChunk', () => {
  it.each([
    ['thrown on the agent thread', bomb],
    ['cloned back from a record worker', () => structuredClone(bomb())],
  ])('quarantines the object of an unusable input on its first receive and deletes the message (%s)', async (_where, err) => {
    const { deps, sent, calls, outcomes, log, clock } = worker();
    await clock.advance(1234);

    const report = await giveBackFailedChunk(deps, firstReceive, fail(err()));

    expect(report).toMatchObject({ result: 'failed', errorKind: 'input', error: expect.stringContaining('decompression bomb') });
    expect(calls).toEqual(['quarantine 2026-11-30T08:00:01.234Z']);
    expect(sent).toEqual([{ command: 'DeleteMessageCommand', input: { QueueUrl: 'work', ReceiptHandle: 'r1' } }]);
    expect(outcomes).toEqual([expect.objectContaining({ outcome: 'quarantined', objectId: 'ab12', key: 'in/bomb.jsonl.gz', at: '2026-11-30T08:00:01.234Z' })]);
    expect(log.said('object input unusable; its object is quarantined without retries')).toBe(1);
    expect(clock.pending).toBe(0); // no backoff waits on anything
  });

  it('retries any other failure of a first receive: records it, releases the lease and backs off', async () => {
    const { deps, sent, calls, outcomes } = worker();

    const report = await giveBackFailedChunk(deps, firstReceive, fail(new RangeError('Maximum call stack size exceeded')));

    expect(report).toMatchObject({ result: 'failed', errorKind: 'transform' });
    expect(calls).toEqual(['recordError', 'release']);
    expect(sent).toEqual([{ command: 'ChangeMessageVisibilityCommand', input: { QueueUrl: 'work', ReceiptHandle: 'r1', VisibilityTimeout: 2 } }]);
    expect(outcomes).toEqual([]);
  });

  it('keeps the message and retries when the ledger cannot mark the chunk FAILED, so the chunk is never lost', async () => {
    const { deps, sent, calls, outcomes } = worker({ quarantineFails: true });

    const report = await giveBackFailedChunk(deps, firstReceive, fail(bomb()));

    expect(report).toMatchObject({ result: 'failed', errorKind: 'input' });
    expect(calls).toEqual(['quarantine 2026-11-30T08:00:00.000Z', 'recordError', 'release']);
    expect(sent.map((s) => s.command)).toEqual(['ChangeMessageVisibilityCommand']);
    expect(outcomes).toEqual([]);
  });
});
