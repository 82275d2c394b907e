import { decodeLine } from './decode-line';
import { splitLines } from './split-lines';

/**
 * The first line of an object (for CSV, its header), given its bytes from offset 0. Like the
 * chunk at offset 0, it skips blank lines, drops the line terminator (`\n` or `\r\n`) and a
 * UTF-8 byte order mark. Stops reading as soon as the line is complete, so a ranged GET of the
 * whole object costs only its first line. Returns `''` when the object has no line at all.
 */
export async function readFirstLine(body: AsyncIterable<Uint8Array>): Promise<string> {
  for await (const record of splitLines(body, { bodyOffset: 0, start: 0, end: Infinity })) {
    return decodeLine(record.bytes, record.offset) ?? record.bytes.toString('utf8');
  }
  return '';
}
