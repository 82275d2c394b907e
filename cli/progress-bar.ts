import { Presets, SingleBar } from 'cli-progress';
import type { IngestProgress } from '../lib/ingest/ingest-path';

/** A progress display for {@link ingestPath}'s `onProgress`; call `stop()` when the ingest ends. */
export interface IngestProgressBar {
  onProgress: (p: IngestProgress) => void;
  stop: () => void;
}

const MB = 1e6;

/**
 * A terminal progress bar for an ingest: MB done of total, rate in MB/s, ETA and files done.
 * Writes to `stream` (stderr by default, so stdout stays clean for results); on a non-TTY stream
 * (CI logs) it prints a line every 2 s instead of redrawing. The bar starts with the first report,
 * so the rate measures the transfer and not the listing before it.
 */
export function createIngestProgress(stream: NodeJS.WritableStream = process.stderr): IngestProgressBar {
  const bar = new SingleBar(
    {
      format: 'ingest |{bar}| {percentage}% | {doneMB}/{totalMB} MB | {rate} MB/s | ETA {eta_formatted} | {files} files',
      hideCursor: true,
      stream,
      noTTYOutput: true,
      notTTYSchedule: 2000,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  let started: number | undefined;
  return {
    onProgress: (p) => {
      const now = Date.now();
      const payload = {
        doneMB: (p.bytesDone / MB).toFixed(1),
        totalMB: (p.bytesTotal / MB).toFixed(1),
        rate: started === undefined ? '0.0' : (p.bytesDone / MB / Math.max(0.001, (now - started) / 1000)).toFixed(1),
        files: `${p.filesDone}/${p.filesTotal}`,
      };
      // A total of 0 (only empty files) would divide by zero in the bar: count it as one byte.
      const total = Math.max(1, p.bytesTotal);
      const value = p.bytesTotal === 0 && p.filesDone === p.filesTotal ? 1 : p.bytesDone;
      if (started === undefined) {
        started = now;
        bar.start(total, value, payload);
      } else bar.update(value, payload);
    },
    stop: () => {
      if (started !== undefined) bar.stop();
      started = undefined;
    },
  };
}
