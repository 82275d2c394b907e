/** A record read from one line: a JS object ready for the transform pipeline. */
export type JsonObject = Record<string, unknown>;

/** What a format reader made of one line. */
export type LineParse =
  | { kind: 'record'; value: JsonObject }
  /** `code` is a short, stable key for counting; `reason` says what exactly was wrong. */
  | { kind: 'rejected'; code: string; reason: string }
  /** The line was the CSV header of the chunk at offset 0: not a data record. */
  | { kind: 'header' };

/** Turns the decoded text of one line (no terminator) into a record. */
export interface LineReader {
  read(line: string): LineParse;
}
