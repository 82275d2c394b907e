/**
 * Units, in one place: sizes, durations, rates, counts and ports, parsed from what operators type
 * and formatted for what they read. Parsers throw an `Error` whose message says the expected
 * form; the CLI turns it into a usage error.
 */

// Decimal for KB/MB/GB (as disk and S3 consoles count), binary for KiB/MiB/GiB (as chunk sizes are).
const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };

/**
 * Parses a size: a byte count, or a number with a unit. KB/MB/GB/TB are decimal (10^3…), KiB/MiB/
 * GiB/TiB binary (2^10…); units are case-insensitive. Throws on anything else (including negatives).
 * @example parseSize('64MB') === 64_000_000; parseSize('500KiB') === 512_000
 */
export function parseSize(size: string | number): number {
  if (typeof size === 'number') {
    if (Number.isFinite(size) && size >= 0) return Math.floor(size);
    throw new Error(`invalid size ${size}: a byte count must be a finite number >= 0`);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(String(size));
  const unit = match && SIZE_UNITS[(match[2] || 'B').toUpperCase()];
  if (!match || !unit) throw new Error(`invalid size '${size}': use a byte count or e.g. 64MB, 1GB, 500KiB, 2GiB (KB/MB/GB decimal, KiB/MiB/GiB binary)`);
  return Math.floor(Number(match[1]) * unit);
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** How {@link parseDuration} reads a bare number, and the bounds it enforces (in ms). */
export interface DurationOptions {
  /** The unit of a bare number; without it a unit is required. */
  readonly bareUnit?: 'ms' | 's';
  readonly minMs?: number;
  readonly maxMs?: number;
  /** The bounds as operators say them, for the error message (e.g. `between 1m and 24h`). */
  readonly bounds?: string;
}

/**
 * Parses `500ms`, `30s`, `10m`, `1.5h`, `2d` (and a bare number when `bareUnit` is set) into
 * milliseconds; throws on anything else or outside the bounds.
 */
export function parseDuration(text: string, opts: DurationOptions = {}): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(String(text).trim());
  const unit = m?.[2]?.toLowerCase() ?? opts.bareUnit;
  if (!m || !unit) throw new Error(`expected a duration such as 30s, 15m, 2h or 1d, got '${text}'`);
  const ms = Number(m[1]) * DURATION_UNITS_MS[unit];
  if ((opts.minMs !== undefined && ms < opts.minMs) || (opts.maxMs !== undefined && ms > opts.maxMs)) {
    throw new Error(`invalid duration '${text}': ${opts.bounds ?? `between ${opts.minMs ?? 0} ms and ${opts.maxMs ?? Infinity} ms`}`);
  }
  return ms;
}

/** A refresh interval: `1s`, `500ms`, `0.5s` or a bare number of seconds, at least 200 ms. @returns ms */
export const parseInterval = (value: string): number => parseDuration(value, { bareUnit: 's', minMs: 200, bounds: 'the interval must be at least 200ms' });

/** A metrics window such as `5m`, `90s`, `1h`, `300` (seconds): 1 minute to 24 hours. @returns seconds */
export const parseWindow = (value: string): number =>
  Math.round(parseDuration(value, { bareUnit: 's', minMs: 60_000, maxMs: 86_400_000, bounds: 'between 1m and 24h (CloudWatch data points are per minute)' }) / 1000);

/**
 * Parses a rate: a size (as `parseSize` reads it) per second, e.g. `10GB/s`, `800 MB/s`,
 * `1.5GiB/s`. Throws with the expected form otherwise, and for a rate of zero.
 * @returns bytes per second
 */
export function parseRate(value: string): number {
  const form = `invalid rate '${value}': use a size per second, e.g. 10GB/s, 800MB/s, 1.5GiB/s`;
  const m = /^\s*(.+?)\s*\/\s*s(?:ec(?:ond)?)?\s*$/i.exec(String(value));
  if (!m) throw new Error(form);
  let bytes: number;
  try {
    bytes = parseSize(m[1]);
  } catch {
    throw new Error(form);
  }
  if (bytes <= 0) throw new Error(`invalid rate '${value}': must be more than 0 bytes per second`);
  return bytes;
}

/** An integer of at least `min` (1 by default); throws otherwise. */
export function parseCount(value: string, min = 1): number {
  const n = Number(value);
  if (String(value).trim() === '' || !Number.isInteger(n) || n < min) throw new Error(min === 1 ? 'expected a positive integer' : `expected an integer of at least ${min}`);
  return n;
}

/** A TCP port: 0 (a free one) to 65535. */
export function parsePort(value: string): number {
  const n = Number(value);
  if (String(value).trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new Error('expected a port number (0 picks a free one)');
  return n;
}

/** A count with thousands separators (`1,234,567`). */
export function formatCount(n: number): string {
  return Math.round(n || 0).toLocaleString('en-US');
}

/**
 * Bytes in decimal units up to TB: three significant digits (`512 B`, `1.5 kB`, `769 MB`,
 * `2.31 TB`), or with `fixed` decimals per unit so that a live view's columns keep their width
 * (`1.5 kB`, `24.0 MB`, `1.20 GB`).
 */
export function formatBytes(bytes: number, style: 'short' | 'fixed' = 'short'): string {
  for (const [unit, n, decimals] of [
    ['TB', 1e12, 2],
    ['GB', 1e9, 2],
    ['MB', 1e6, 1],
    ['kB', 1e3, 1],
  ] as const) {
    if (bytes >= n) return `${style === 'fixed' ? (bytes / n).toFixed(decimals) : +(bytes / n).toPrecision(3)} ${unit}`;
  }
  return `${Math.round(Math.max(0, bytes || 0))} B`;
}

/** Bytes per second in decimal units: `33.1 MB/s`, `10 GB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Sizes the way chunk sizes are set: `8 MiB`, `64 MiB`, `1 GiB`, else decimal. */
export function formatSize(bytes: number): string {
  for (const [unit, n] of [
    ['TiB', 1024 ** 4],
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n} ${unit}`;
  }
  return formatBytes(bytes);
}

/** `820 ms`, `1,000 ms`, `12.4 s`. */
export function formatMs(ms: number): string {
  return ms < 10_000 ? `${formatCount(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** `42%`. */
export function pct(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

/** `1.4 chunks/s`, `0.02/s`, `1,250 GET/s`. */
export function perSecond(n: number, what = ''): string {
  const value = n >= 100 ? formatCount(n) : n >= 1 ? n.toFixed(1) : n.toFixed(2);
  return what ? `${value} ${what}/s` : `${value}/s`;
}
