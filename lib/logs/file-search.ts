/**
 * Searches one append-only log file for the most recent records that match a query, reading it
 * backwards in large blocks. Why backwards: the answer is the latest `limit` matches, so an
 * unselective query stops after a few blocks. Why blocks and `Buffer.indexOf`: a selective query
 * (an id, a level, some text) finds its few candidate lines with a native byte search over the
 * whole block and JSON-parses only those, instead of decoding and parsing a million lines.
 *
 * Lines of one file are in time order (one process appends them), up to `TIME_ORDER_SLACK_MS`;
 * that is what lets a `--from`/`--to` window skip whole blocks, and the scan stop once `limit`
 * matches are in hand and the lines left are too old to be among the newest.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { matchesQuery, prefilterNeedles } from './match';
import type { LogQuery } from './query';
import { mostRecent, parseJsonObject, timestampOf, toLogRecord, type LogRecord, type LogSource } from './record';

/** How far out of time order lines of one file may be without being missed at a window's edge. */
export const TIME_ORDER_SLACK_MS = 60_000;
const DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024;
/** Lines looked at around a plain-text line for a neighbour's time. */
const NEIGHBOUR_LINES = 32;
const NEWLINE = 0x0a;
const OPEN_BRACE = 0x7b;

export interface FileSearchOptions {
  /** Bytes read per step. @default 4 MiB */
  readonly blockSize?: number;
}

/** Matches of one file, newest first, and what it cost. */
export interface FileSearchResult {
  readonly records: LogRecord[];
  readonly bytesRead: number;
  /** Lines decoded and JSON-parsed (the candidates that passed the prefilter). */
  readonly linesParsed: number;
}

/** The `query.limit` most recent records of the file at `path` that match `query`, newest first. */
export async function searchLogFile(path: string, source: LogSource, query: LogQuery, opts: FileSearchOptions = {}): Promise<FileSearchResult> {
  const fh = await open(path, 'r');
  try {
    return await searchOpenFile(fh, source, query, opts.blockSize ?? DEFAULT_BLOCK_SIZE);
  } finally {
    await fh.close();
  }
}

async function searchOpenFile(fh: FileHandle, source: LogSource, query: LogQuery, blockSize: number): Promise<FileSearchResult> {
  const { size, mtimeMs } = await fh.stat();
  // A needle can never span a line break; the JSON-escaped alternative of such text remains.
  const groups = prefilterNeedles(query, source.node).map((alternatives) => alternatives.filter((n) => !n.includes('\n')).map((n) => Buffer.from(n)));
  let found: LogRecord[] = [];
  let bytesRead = 0;
  let linesParsed = 0;
  let end = size;
  let carry: Buffer = Buffer.alloc(0); // the end of a line that began before `end`, up to its line break
  let laterTime = mtimeMs; // time of the earliest line of the blocks already searched
  // Once `limit` matches are in hand, the time a match must beat to be among the newest `limit`;
  // earlier lines are at most TIME_ORDER_SLACK_MS newer than later ones, so the scan can stop.
  let threshold: number | undefined;
  let passedThreshold = false;

  while (end > 0 && !passedThreshold) {
    const start = Math.max(0, end - blockSize);
    const buf = Buffer.allocUnsafe(end - start + carry.length);
    await readFully(fh, buf, end - start, start);
    carry.copy(buf, end - start);
    bytesRead += end - start;

    let first = 0; // the region [first, buf.length) holds whole lines only
    if (start > 0) {
      const nl = buf.indexOf(NEWLINE);
      if (nl < 0 || nl >= end - start) {
        carry = buf; // no line starts in this block: it is the middle of a very long line
        end = start;
        continue;
      }
      first = nl + 1;
    }
    let regionEnd = buf.length;
    if (carry.length === 0 && regionEnd > first && buf[regionEnd - 1] !== NEWLINE) regionEnd = skipUnfinishedLastLine(buf, first, regionEnd);

    const earliest = firstTimeIn(buf, first, regionEnd);
    const newerThanWindow = query.toMs !== undefined && earliest !== undefined && earliest - TIME_ORDER_SLACK_MS > query.toMs;
    if (!newerThanWindow) {
      const evaluate = (s: number, e: number): boolean => {
        let text = buf.toString('utf8', s, e);
        if (text.endsWith('\r')) text = text.slice(0, -1);
        if (text === '') return true;
        linesParsed++;
        const fields = parseJsonObject(text);
        const time = fields && timestampOf(fields);
        const fallback = time ?? neighbourTime(buf, first, regionEnd, s, e) ?? laterTime;
        const record = toLogRecord(text, source, start + s, fallback, fields);
        if (matchesQuery(record, query)) {
          found.push(record);
          if (threshold === undefined && found.length >= query.limit) threshold = found.reduce((t, r) => Math.min(t, r.time), Infinity);
        }
        passedThreshold = threshold !== undefined && record.time + TIME_ORDER_SLACK_MS < threshold;
        return !passedThreshold;
      };
      if (groups.length === 0) forEachLineNewestFirst(buf, first, regionEnd, evaluate);
      else forEachCandidateNewestFirst(buf, first, regionEnd, groups, evaluate);
    }
    if (threshold !== undefined) {
      found = mostRecent(found, query.limit);
      threshold = found[0].time;
      if (earliest !== undefined && earliest + TIME_ORDER_SLACK_MS < threshold) passedThreshold = true;
    }
    if (query.fromMs !== undefined && earliest !== undefined && earliest + TIME_ORDER_SLACK_MS < query.fromMs) break;
    laterTime = earliest ?? laterTime;
    carry = start > 0 ? Buffer.from(buf.subarray(0, first)) : Buffer.alloc(0);
    end = start;
  }
  return { records: mostRecent(found, query.limit).reverse(), bytesRead, linesParsed };
}

async function readFully(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new Error('log file shrank while it was read');
    done += bytesRead;
  }
}

/** The file's last line is still being written when it is an unfinished JSON object: leave it out. */
function skipUnfinishedLastLine(buf: Buffer, first: number, end: number): number {
  const lineStart = buf.lastIndexOf(NEWLINE, end - 1) + 1;
  const start = Math.max(lineStart, first);
  if (buf[start] !== OPEN_BRACE || parseJsonObject(buf.toString('utf8', start, end).trimEnd())) return end;
  return start;
}

/** Calls `visit(start, end)` for each line of [first, end), last line first, while it returns true. */
function forEachLineNewestFirst(buf: Buffer, first: number, end: number, visit: (s: number, e: number) => boolean): void {
  let e = end > first && buf[end - 1] === NEWLINE ? end - 1 : end;
  while (e >= first) {
    const nl = e > first ? buf.lastIndexOf(NEWLINE, e - 1) : -1;
    const s = nl < first ? first : nl + 1;
    if (!visit(s, e) || s === first) return;
    e = s - 1;
  }
}

/**
 * Calls `visit(start, end)` for each line of [first, end) that contains, for every group, one of its
 * needles, last line first, while it returns true. The first group is searched over the whole
 * region; the others only within the lines it found.
 */
function forEachCandidateNewestFirst(buf: Buffer, first: number, end: number, groups: Buffer[][], visit: (s: number, e: number) => boolean): void {
  const lines = new Map<number, number>(); // start -> end
  for (const needle of groups[0]) {
    let i = buf.indexOf(needle, first);
    while (i !== -1 && i + needle.length <= end) {
      const s = buf.lastIndexOf(NEWLINE, i) + 1;
      const nl = buf.indexOf(NEWLINE, i + needle.length);
      const e = nl < 0 || nl > end ? end : nl;
      lines.set(Math.max(s, first), e);
      i = e + 1 < end ? buf.indexOf(needle, e + 1) : -1;
    }
  }
  const starts = groups[0].length === 1 ? [...lines.keys()] : [...lines.keys()].sort((a, b) => a - b);
  for (let k = starts.length - 1; k >= 0; k--) {
    const s = starts[k];
    const e = lines.get(s)!;
    const line = buf.subarray(s, e);
    let candidate = true;
    for (let g = 1; g < groups.length && candidate; g++) candidate = groups[g].some((needle) => line.indexOf(needle) !== -1);
    if (candidate && !visit(s, e)) return;
  }
}

/** The time of the first timestamped JSON line of [first, end) (among its first lines). */
function firstTimeIn(buf: Buffer, first: number, end: number): number | undefined {
  let s = first;
  for (let n = 0; n < NEIGHBOUR_LINES && s < end; n++) {
    const nl = buf.indexOf(NEWLINE, s);
    const e = nl < 0 || nl > end ? end : nl;
    const t = lineTime(buf, s, e);
    if (t !== undefined) return t;
    s = e + 1;
  }
  return undefined;
}

/** A plain-text line's time: the nearest timestamped JSON line before it, else after it, in this block. */
function neighbourTime(buf: Buffer, first: number, end: number, s: number, e: number): number | undefined {
  let le = s - 1;
  for (let n = 0; n < NEIGHBOUR_LINES && le > first; n++) {
    const ls = Math.max(first, buf.lastIndexOf(NEWLINE, le - 1) + 1);
    const t = lineTime(buf, ls, le);
    if (t !== undefined) return t;
    le = ls - 1;
  }
  return firstTimeIn(buf, e + 1, end);
}

function lineTime(buf: Buffer, s: number, e: number): number | undefined {
  if (buf[s] !== OPEN_BRACE) return undefined;
  const fields = parseJsonObject(buf.toString('utf8', s, e).trimEnd());
  return fields && timestampOf(fields);
}
