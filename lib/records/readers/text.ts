import type { LineReader } from './types';

/** Reads plain text: every line becomes `{ "text": line }`. */
export function createTextReader(): LineReader {
  return { read: (line) => ({ kind: 'record', value: { text: line } }) };
}
