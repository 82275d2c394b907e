import { ingestPath } from '../../lib/ingest/ingest-path';
import { createIngestProgress } from '../progress-bar';
import { resolveTarget } from '../../lib/aws/target';

/** `shardline ingest <source>`: copies into the ingest bucket with a progress bar. */
export async function ingestCommand(source: string, opts: { prefix: string; stack?: string; stateDir: string }): Promise<void> {
  const target = await resolveTarget(opts);
  const progress = createIngestProgress();
  try {
    const result = await ingestPath(source, { bucket: target.resources.ingestBucket, prefix: opts.prefix }, { s3: target.clients.s3, onProgress: progress.onProgress });
    progress.stop();
    console.log(`ingested ${result.files} file(s), ${(result.bytes / 1e6).toFixed(1)} MB into s3://${target.resources.ingestBucket}/${opts.prefix}`);
  } finally {
    progress.stop();
  }
}
