import { isUtf8 } from 'node:buffer';

/**
 * Decodes one line as UTF-8; `undefined` when its bytes are not valid UTF-8 (decoding would
 * silently replace them). The UTF-8 byte order mark of the object's first line (offset 0) is
 * dropped.
 */
export function decodeLine(bytes: Buffer, offset: number): string | undefined {
  const hasBom = offset === 0 && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  const text = hasBom ? bytes.subarray(3) : bytes;
  return isUtf8(text) ? text.toString('utf8') : undefined;
}
