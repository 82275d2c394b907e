import { parseChunkMessage } from '../../../lib/agent/chunk-message';
import { chunkIdOf, objectIdOf, type ChunkMessage } from '../../../lib/chunking/chunk';

const objectId = objectIdOf({ bucket: 'raw', key: 'in/a.jsonl', etag: 'e1' });
const message = (over: Partial<Record<keyof ChunkMessage, unknown>> = {}): string =>
  JSON.stringify({
    v: 1,
    objectId,
    chunkId: chunkIdOf(objectId, 2),
    index: 2,
    chunkCount: 3,
    bucket: 'raw',
    key: 'in/a.jsonl',
    etag: 'e1',
    objectSize: 300,
    start: 200,
    end: 300,
    format: 'jsonl',
    compression: 'none',
    ...over,
  });

describe('parseChunkMessage', () => {
  it('accepts a message as the planner writes it', () => {
    expect(parseChunkMessage(message())).toEqual(expect.objectContaining({ objectId, chunkId: `${objectId}-000002`, index: 2 }));
  });

  it('accepts chunk indexes past 999999 (the id just grows)', () => {
    expect(parseChunkMessage(message({ index: 1_234_567, chunkCount: 2_000_000, chunkId: chunkIdOf(objectId, 1_234_567) })).chunkId).toBe(`${objectId}-1234567`);
  });

  it.each([
    ['a path in the object id', { objectId: '../../../x', chunkId: '../../../x-000002' }, /objectId: must be 32 lowercase hex digits/],
    ['a path after a hex object id', { objectId: `${objectId}/../../x` }, /objectId/],
    ['upper-case hex', { objectId: objectId.toUpperCase(), chunkId: `${objectId.toUpperCase()}-000002` }, /objectId/],
    ['a short object id', { objectId: 'abc', chunkId: 'abc-000002' }, /objectId/],
    ['a path in the chunk id', { chunkId: `${objectId}-000002/../../../x` }, /chunkId: must be <objectId>-NNNNNN/],
    ['a chunk id of another object', { chunkId: chunkIdOf('f'.repeat(32), 2) }, /chunkId is not the id of chunk/],
    ['a chunk id of another index', { chunkId: chunkIdOf(objectId, 1) }, /chunkId is not the id of chunk/],
  ])('refuses %s as malformed', (_what, over, reason) => {
    expect(() => parseChunkMessage(message(over))).toThrow(/^malformed chunk message/);
    expect(() => parseChunkMessage(message(over))).toThrow(reason);
  });

  it('refuses a body that is not JSON', () => {
    expect(() => parseChunkMessage('not json')).toThrow('malformed chunk message: body is not JSON');
  });
});
