/** Small formatters shared by the terminal watch view (the web page has its own copies). */

/** Seconds with one decimal below a minute, then `1m05s`, `2h03m`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const SPARKS = '▁▂▃▄▅▆▇█';

/** A one-line chart of `values` (the last `width` of them), scaled to their maximum; zeros are the lowest bar. */
export function sparkline(values: number[], width: number): string {
  const shown = values.slice(-width);
  const max = Math.max(0, ...shown);
  return shown.map((v) => (max > 0 ? SPARKS[Math.min(SPARKS.length - 1, Math.floor((Math.max(0, v) / max) * (SPARKS.length - 1) + 0.5))] : SPARKS[0])).join('');
}

/** A progress bar of `width` cells for `done` of `total` (full when total is 0 and done is too). */
export function progressBar(done: number, total: number, width: number): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.round(ratio * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

/** Cuts `text` to `width` characters, ending with `…` when cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}
