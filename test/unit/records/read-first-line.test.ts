import { readFirstLine } from '../../../lib/records/read-first-line';
import { buffersOf, trackedBody } from './helpers';

describe('readFirstLine', () => {
  it('returns the first line without its CRLF terminator', async () => {
    const line = await readFirstLine(buffersOf(Buffer.from('id,name\r\n1,a\r\n'), 3));

    expect(line).toBe('id,name');
  });

  it('drops a UTF-8 byte order mark when the object starts with one', async () => {
    const line = await readFirstLine(buffersOf(Buffer.from('\ufeffid,näme\n1,a\n'), 2));

    expect(line).toBe('id,näme');
  });

  it('skips blank lines when the object starts with them', async () => {
    const line = await readFirstLine(buffersOf(Buffer.from('\n\r\nid\n'), 4));

    expect(line).toBe('id');
  });

  it('returns the whole object when it has no newline', async () => {
    const line = await readFirstLine(buffersOf(Buffer.from('id,name'), 4));

    expect(line).toBe('id,name');
  });

  it('returns an empty string when the object is empty', async () => {
    const line = await readFirstLine(buffersOf(Buffer.alloc(0), 4));

    expect(line).toBe('');
  });

  it('stops reading and ends the body when the first line is complete', async () => {
    const tracked = trackedBody(Buffer.from(`a,b\n${'1,2\n'.repeat(1000)}`), 8);

    await readFirstLine(tracked.body);

    expect(tracked.pulled()).toBe(1);
    expect(tracked.returned()).toBe(true);
  });
});
