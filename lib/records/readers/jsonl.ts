import { TOO_DEEP } from '../input-limits';
import type { LineParse, LineReader } from './types';

/**
 * Reads JSON Lines: every line must be one JSON object (not an array, scalar or `null`), nested
 * at most `maxDepth` levels deep (`too-deep` otherwise: deeper values overflow the stack of the
 * recursive steps after parsing, and of readers downstream).
 */
export function createJsonlReader(options: { maxDepth?: number } = {}): LineReader {
  const maxDepth = options.maxDepth ?? Infinity;
  return { read: (line) => readJsonLine(line, maxDepth) };
}

function readJsonLine(line: string, maxDepth: number): LineParse {
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
  // Nesting n levels deep takes 2n characters at least: most lines need no walk.
  if (line.length > 2 * maxDepth && deeperThan(value, maxDepth)) {
    return { kind: 'rejected', code: TOO_DEEP, reason: `the record nests arrays and objects more than ${maxDepth} levels deep (maxRecordDepth)` };
  }
  return { kind: 'record', value: value as Record<string, unknown> };
}

/** True when `value` (an object or array, depth 1) holds containers nested more than `limit` deep; recursion stays within `limit`. */
function deeperThan(value: object, limit: number): boolean {
  if (limit < 1) return true;
  if (Array.isArray(value)) {
    for (const v of value) if (v !== null && typeof v === 'object' && deeperThan(v as object, limit - 1)) return true;
    return false;
  }
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== null && typeof v === 'object' && deeperThan(v, limit - 1)) return true;
  }
  return false;
}
