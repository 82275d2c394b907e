import { parseSize } from '../local/dataset';
import { formatBytes, formatCount } from '../observability/format';

/**
 * Parses a rate: a size (as `parseSize` reads it: KB/MB/GB/TB decimal, KiB/MiB/GiB binary)
 * per second, e.g. `10GB/s`, `800 MB/s`, `1.5GiB/s`. Throws with the expected form otherwise,
 * and for a rate of zero.
 * @returns bytes per second
 */
export function parseRate(value: string): number {
  const m = /^\s*(.+?)\s*\/\s*s(?:ec(?:ond)?)?\s*$/i.exec(String(value));
  if (!m) throw new Error(`invalid rate '${value}': use a size per second, e.g. 10GB/s, 800MB/s, 1.5GiB/s`);
  let bytes: number;
  try {
    bytes = parseSize(m[1]);
  } catch {
    throw new Error(`invalid rate '${value}': use a size per second, e.g. 10GB/s, 800MB/s, 1.5GiB/s`);
  }
  if (bytes <= 0) throw new Error(`invalid rate '${value}': must be more than 0 bytes per second`);
  return bytes;
}

/** Parses a window such as `5m`, `90s`, `1h`, `300` (seconds). At least 1 minute, at most 24 hours. @returns seconds */
export function parseWindow(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/i.exec(String(value));
  if (!m) throw new Error(`invalid window '${value}': use e.g. 5m, 90s, 1h`);
  const seconds = Number(m[1]) * ({ s: 1, m: 60, h: 3600 } as Record<string, number>)[(m[2] ?? 's').toLowerCase()];
  if (seconds < 60 || seconds > 86400) throw new Error(`invalid window '${value}': between 1m and 24h (CloudWatch data points are per minute)`);
  return Math.round(seconds);
}

/** `820 ms`, `1,000 ms`, `12.4 s`. */
export function formatMs(ms: number): string {
  return ms < 10_000 ? `${formatCount(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Bytes in decimal units up to TB, three significant digits: `769 MB`, `2.31 TB`, `50 TB`. */
export function formatData(bytes: number): string {
  for (const [unit, n] of [['TB', 1e12], ['GB', 1e9], ['MB', 1e6], ['kB', 1e3]] as const) {
    if (bytes >= n) return `${+(bytes / n).toPrecision(3)} ${unit}`;
  }
  return `${Math.round(Math.max(0, bytes || 0))} B`;
}

/** Bytes per second in decimal units: `33.1 MB/s`, `10 GB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatData(bytesPerSecond)}/s`;
}

/** Sizes the way chunk sizes are set: `8 MiB`, `64 MiB`, `1 GiB`, else decimal. */
export function formatSize(bytes: number): string {
  for (const [unit, n] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n} ${unit}`;
  }
  return formatData(bytes);
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

export { formatBytes, formatCount };
