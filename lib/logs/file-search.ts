/**
 * Searches one append-only log file for the most recent records that match a query, reading it
 * backwards in large blocks. Why backwards: the answer is the latest `limit` matches, so an
 * unselective query stops after a few blocks. Why blocks and `Buffer.indexOf`: a selective query
 * (an id, some text, a node) finds its few candidate lines with a native byte search over the
 * whole block, and a level or time filter reads the first bytes of each Powertools line; only
 * the candidates are decoded and JSON-parsed, instead of a million lines.
 *
 * Lines of one file are in time order (one process appends them), up to `TIME_ORDER_SLACK_MS`;
 * that is what lets a `--from`/`--to` window skip whole parts of the file, and the scan stop once
 * `limit` matches are in hand and the lines left are too old to be among the newest.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { firstTimedLine, firstTimeIn, forEachCandidateNewestFirst, forEachLineNewestFirst, neighbourTime, skipUnfinishedLastLine } from './block-lines';
import { peekLevelRank, peekLineHead, searchableAlternatives } from './line-peek';
import { matchesQuery, prefilterNeedles } from './match';
import type { LogQuery } from './query';
import { mostRecent, parseJsonObject, timestampOf, toLogRecord, type LogRecord, type LogSource } from './record';

/** How far out of time order lines of one file may be without being missed at a window's edge. */
export const TIME_ORDER_SLACK_MS = 60_000;
const DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024;
/** Bytes read per probe while looking for where a `--to` window ends. */
const PROBE_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

export interface FileSearchOptions {
  /** Bytes read per step. @default 4 MiB */
  readonly blockSize?: number;
  /** Bytes read per probe while bisecting for the end of a `--to` window. @default 64 KiB */
  readonly probeBytes?: number;
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
    return await searchOpenFile(fh, source, query, opts.blockSize ?? DEFAULT_BLOCK_SIZE, opts.probeBytes ?? PROBE_BYTES);
  } finally {
    await fh.close();
  }
}

/** A check of one line [s, e) of a buffer that every matching line passes. */
type LineTest = (buf: Buffer, s: number, e: number) => boolean;

/** The prefilter of a query for one source, as the file search applies it. */
interface LineFilters {
  /** Needles of the first group, searched over whole blocks; none when only the level is filtered. */
  readonly primary?: Buffer[];
  /** The other groups, tested on each candidate line. */
  readonly tests: LineTest[];
  /** The level filter: read from the first bytes of a Powertools line, else by its needles. */
  readonly minLevelRank?: number;
  readonly levelNeedles?: LineTest;
}

function lineFilters(query: LogQuery, source: LogSource): LineFilters {
  const containsOneOf =
    (needles: Buffer[]): LineTest =>
    (buf, s, e) => {
      const line = buf.subarray(s, e);
      return needles.some((n) => line.indexOf(n) !== -1);
    };
  let primary: Buffer[] | undefined;
  let minLevelRank: number | undefined;
  let levelNeedles: LineTest | undefined;
  const tests: LineTest[] = [];
  for (const group of prefilterNeedles(query, source.node)) {
    // A needle can never span a line break; the JSON-escaped alternative of such text remains.
    const needles = searchableAlternatives(group.alternatives.filter((n) => !n.includes('\n')).map((n) => Buffer.from(n)));
    if (group.minLevelRank !== undefined) {
      minLevelRank = group.minLevelRank;
      levelNeedles = containsOneOf(needles);
    } else if (!primary) primary = needles;
    else tests.push(containsOneOf(needles));
  }
  return { primary, tests, minLevelRank, levelNeedles };
}

async function searchOpenFile(fh: FileHandle, source: LogSource, query: LogQuery, blockSize: number, probeBytes: number): Promise<FileSearchResult> {
  const { size, mtimeMs } = await fh.stat();
  const { primary, tests, minLevelRank, levelNeedles } = lineFilters(query, source);
  let found: LogRecord[] = [];
  let bytesRead = 0;
  let linesParsed = 0;
  let laterTime = mtimeMs; // time of the earliest line of the part of the file already searched
  let end = size;
  if (query.toMs !== undefined && size > 2 * blockSize) {
    const cut = await windowEnd(fh, size, query.toMs, probeBytes);
    end = cut.offset;
    laterTime = cut.time ?? laterTime;
    bytesRead += cut.bytesRead;
  }
  let carry: Buffer = Buffer.alloc(0); // the end of a line that began before `end`, up to its line break
  // Once `limit` matches are in hand, the time a match must beat to be among the newest `limit`;
  // earlier lines are at most TIME_ORDER_SLACK_MS newer than later ones, so the scan can stop.
  let threshold: number | undefined;
  let passedThreshold = false;

  let scratch = Buffer.allocUnsafe(0); // reused for every block: fresh 4 MiB buffers cost page faults
  while (end > 0 && !passedThreshold) {
    const start = Math.max(0, end - blockSize);
    const needed = end - start + carry.length;
    if (scratch.length < needed) scratch = Buffer.allocUnsafe(Math.max(needed, Math.min(blockSize, size) + 64 * 1024));
    const buf = scratch.subarray(0, needed);
    await readFully(fh, buf, end - start, start);
    carry.copy(buf, end - start);
    bytesRead += end - start;

    let first = 0; // the region [first, buf.length) holds whole lines only
    if (start > 0) {
      const nl = buf.indexOf(NEWLINE);
      if (nl < 0 || nl >= end - start) {
        carry = Buffer.from(buf); // no line starts in this block: it is the middle of a very long line
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
      // Returns false to stop the scan: the lines before this one are too old to be among the newest.
      const evaluate = (s: number, e: number): boolean => {
        if (minLevelRank !== undefined) {
          const rank = peekLevelRank(buf, s, e);
          if (rank === undefined ? !levelNeedles!(buf, s, e) : rank < minLevelRank) return true;
        }
        for (const test of tests) if (!test(buf, s, e)) return true;
        const head = peekLineHead(buf, s, e);
        if (head?.time !== undefined) {
          const t = head.time;
          if (threshold !== undefined && t + TIME_ORDER_SLACK_MS < threshold) return !(passedThreshold = true);
          if ((query.fromMs !== undefined && t < query.fromMs) || (query.toMs !== undefined && t > query.toMs) || (threshold !== undefined && t < threshold)) return true;
        }
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
          if (threshold === undefined && found.length >= query.limit) threshold = found.reduce((min, r) => Math.min(min, r.time), Infinity);
        }
        passedThreshold = threshold !== undefined && record.time + TIME_ORDER_SLACK_MS < threshold;
        return !passedThreshold;
      };
      if (primary) forEachCandidateNewestFirst(buf, first, regionEnd, primary, evaluate);
      else forEachLineNewestFirst(buf, first, regionEnd, evaluate);
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

async function readFully(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  if (done < length) throw new Error('log file shrank while it was read');
  return done;
}

/**
 * Where to start reading backwards for a window that ends at `toMs`: the start of a line newer
 * than `toMs + slack` found by bisecting the file (every line after it is newer than `toMs`), so
 * the part of a big file after the window is never read. The end of the file if none is found.
 */
async function windowEnd(fh: FileHandle, size: number, toMs: number, probeBytes: number): Promise<{ offset: number; time?: number; bytesRead: number }> {
  const probe = Buffer.allocUnsafe(probeBytes);
  let lo = 0;
  let hi = size;
  let cut: { offset: number; time?: number } = { offset: size };
  let bytesRead = 0;
  while (hi - lo > probeBytes) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const length = Math.min(probeBytes, size - mid);
    bytesRead += await readFully(fh, probe, length, mid);
    const line = firstTimedLine(probe, length);
    if (line === undefined) hi = mid;
    else if (line.time > toMs + TIME_ORDER_SLACK_MS) {
      cut = { offset: mid + line.start, time: line.time };
      hi = mid;
    } else lo = mid;
  }
  return { ...cut, bytesRead };
}
