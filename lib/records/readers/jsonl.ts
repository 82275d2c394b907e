import type { LineParse, LineReader } from './types';

/** Reads JSON Lines: every line must be one JSON object (not an array, scalar or `null`). */
export function createJsonlReader(): LineReader {
  return { read: readJsonLine };
}

function readJsonLine(line: string): LineParse {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { kind: 'rejected', code: 'invalid-json', reason: `invalid JSON: ${(err as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return { kind: 'rejected', code: 'not-an-object', reason: `not a JSON object: the line is ${what}` };
  }
  return { kind: 'record', value: value as Record<string, unknown> };
}
