import type { JsonObject } from './readers/types';

/**
 * Sets an own enumerable field, `__proto__` included (plain assignment would set the
 * prototype instead and lose the field).
 */
export function setField(record: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

/** Keeps only the listed fields (those the record has), in the record's order; the record itself when it has no other field. */
export function selectFields(record: JsonObject, fields: ReadonlySet<string>): JsonObject {
  const keys = Object.keys(record);
  if (keys.every((key) => fields.has(key))) return record;
  const out: JsonObject = {};
  for (const key of keys) if (fields.has(key)) setField(out, key, record[key]);
  return out;
}

/**
 * Renames fields (`{ old: new }`), keeping the record's field order. Renames apply at once, so
 * `{ a: 'b', b: 'a' }` swaps; a renamed field wins over an existing field of the same name. The
 * record itself when it has none of the fields to rename.
 */
export function renameFields(record: JsonObject, renames: ReadonlyMap<string, string>): JsonObject {
  const shadowed = new Set<string>();
  for (const [from, to] of renames) if (Object.prototype.hasOwnProperty.call(record, from)) shadowed.add(to);
  if (shadowed.size === 0) return record;
  const out: JsonObject = {};
  for (const key of Object.keys(record)) {
    const renamed = renames.get(key);
    if (renamed !== undefined) setField(out, renamed, record[key]);
    else if (!shadowed.has(key)) setField(out, key, record[key]);
  }
  return out;
}

/** How string fields are normalized. */
export interface NormalizeOptions {
  nfc: boolean;
  collapseWhitespace: boolean;
  /** Only these top-level fields; all top-level string fields when absent. */
  fields?: ReadonlySet<string>;
}

/**
 * Normalizes the record's top-level string fields (Unicode NFC, whitespace runs → one space,
 * trimmed). The record itself when no field changes, so its original bytes can be written.
 */
export function normalizeStrings(record: JsonObject, options: NormalizeOptions): JsonObject {
  const keys = Object.keys(record);
  const values = keys.map((key) => record[key]);
  let changed = false;
  for (let i = 0; i < keys.length; i++) {
    const v = values[i];
    if (typeof v !== 'string' || (options.fields && !options.fields.has(keys[i]))) continue;
    const normalized = normalizeString(v, options);
    if (normalized !== v) {
      values[i] = normalized;
      changed = true;
    }
  }
  if (!changed) return record;
  const out: JsonObject = {};
  for (let i = 0; i < keys.length; i++) setField(out, keys[i], values[i]);
  return out;
}

function normalizeString(s: string, options: NormalizeOptions): string {
  let out = options.nfc ? s.normalize('NFC') : s;
  if (options.collapseWhitespace) out = out.replace(/\s+/g, ' ').trim();
  return out;
}

/** Length in Unicode code points (what a reader calls characters), not UTF-16 units. */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}
