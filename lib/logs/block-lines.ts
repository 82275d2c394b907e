/**
 * Lines of a block of a log file (a buffer holding whole lines in [first, end)): walking them
 * newest first, finding the ones that contain a needle, and the time of a line or its neighbours.
 */
import { peekLineHead } from './line-peek';
import { parseJsonObject, timestampOf } from './record';

const NEWLINE = 0x0a;
const OPEN_BRACE = 0x7b;
/** Lines looked at around a plain-text line for a neighbour's time. */
const NEIGHBOUR_LINES = 32;

/** The first whole line of `buf` (after its first line break) that has a timestamp. */
export function firstTimedLine(buf: Buffer, length: number): { start: number; time: number } | undefined {
  let s = buf.indexOf(NEWLINE) + 1;
  while (s > 0 && s < length) {
    const nl = buf.indexOf(NEWLINE, s);
    if (nl < 0 || nl >= length) return undefined;
    const time = lineTime(buf, s, nl);
    if (time !== undefined) return { start: s, time };
    s = nl + 1;
  }
  return undefined;
}

/** The file's last line is still being written when it is an unfinished JSON object: leave it out. */
export function skipUnfinishedLastLine(buf: Buffer, first: number, end: number): number {
  const lineStart = buf.lastIndexOf(NEWLINE, end - 1) + 1;
  const start = Math.max(lineStart, first);
  if (buf[start] !== OPEN_BRACE || parseJsonObject(buf.toString('utf8', start, end).trimEnd())) return end;
  return start;
}

/** Calls `visit(start, end)` for each line of [first, end), last line first, while it returns true. */
export function forEachLineNewestFirst(buf: Buffer, first: number, end: number, visit: (s: number, e: number) => boolean): void {
  let e = end > first && buf[end - 1] === NEWLINE ? end - 1 : end;
  while (e >= first) {
    const nl = e > first ? buf.lastIndexOf(NEWLINE, e - 1) : -1;
    const s = nl < first ? first : nl + 1;
    if (!visit(s, e) || s === first) return;
    e = s - 1;
  }
}

/**
 * Calls `visit(start, end)` for each line of [first, end) that contains one of `needles`, last
 * line first, while it returns true. The needles are searched over the whole region at once.
 */
export function forEachCandidateNewestFirst(buf: Buffer, first: number, end: number, needles: Buffer[], visit: (s: number, e: number) => boolean): void {
  const lines = new Map<number, number>(); // start -> end
  for (const needle of needles) {
    let i = buf.indexOf(needle, first);
    while (i !== -1 && i + needle.length <= end) {
      const s = buf.lastIndexOf(NEWLINE, i) + 1;
      const nl = buf.indexOf(NEWLINE, i + needle.length);
      const e = nl < 0 || nl > end ? end : nl;
      lines.set(Math.max(s, first), e);
      i = e + 1 < end ? buf.indexOf(needle, e + 1) : -1;
    }
  }
  const starts = needles.length === 1 ? [...lines.keys()] : [...lines.keys()].sort((a, b) => a - b);
  for (let k = starts.length - 1; k >= 0; k--) if (!visit(starts[k], lines.get(starts[k])!)) return;
}

/** The time of the first timestamped JSON line of [first, end) (among its first lines). */
export function firstTimeIn(buf: Buffer, first: number, end: number): number | undefined {
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
export function neighbourTime(buf: Buffer, first: number, end: number, s: number, e: number): number | undefined {
  let le = s - 1;
  for (let n = 0; n < NEIGHBOUR_LINES && le > first; n++) {
    const ls = Math.max(first, buf.lastIndexOf(NEWLINE, le - 1) + 1);
    const t = lineTime(buf, ls, le);
    if (t !== undefined) return t;
    le = ls - 1;
  }
  return firstTimeIn(buf, e + 1, end);
}

/** The time of the JSON line [s, e), if it has a timestamp. */
export function lineTime(buf: Buffer, s: number, e: number): number | undefined {
  if (buf[s] !== OPEN_BRACE) return undefined;
  const head = peekLineHead(buf, s, e);
  if (head?.time !== undefined) return head.time;
  const fields = parseJsonObject(buf.toString('utf8', s, e).trimEnd());
  return fields && timestampOf(fields);
}
