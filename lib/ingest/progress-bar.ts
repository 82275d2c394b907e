import { Presets, SingleBar } from 'cli-progress';
import type { IngestProgress } from './ingest-path';

/** A terminal progress bar for an ingest: MB done of total, rate, files. */
export function createIngestProgress(stream: NodeJS.WritableStream = process.stderr): { onProgress: (p: IngestProgress) => void; stop: () => void } {
  const bar = new SingleBar(
    { format: 'ingest     |{bar}| {percentage}% | {doneMB}/{totalMB} MB | {rate} MB/s | {files} files', hideCursor: true, stream, noTTYOutput: true, notTTYSchedule: 2000 },
    Presets.shades_classic,
  );
  const started = Date.now();
  let running = false;
  return {
    onProgress: (p) => {
      const payload = {
        doneMB: (p.bytesDone / 1e6).toFixed(1),
        totalMB: (p.bytesTotal / 1e6).toFixed(1),
        rate: (p.bytesDone / 1e6 / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1),
        files: `${p.filesDone}/${p.filesTotal}`,
      };
      if (!running) bar.start(Math.max(1, p.bytesTotal), 0, payload);
      running = true;
      bar.update(p.bytesDone, payload);
    },
    stop: () => {
      if (running) bar.stop();
      running = false;
    },
  };
}
