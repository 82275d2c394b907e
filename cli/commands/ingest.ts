import { ingestPath } from '../../lib/ingest/ingest-path';
import { createIngestProgress } from '../progress-bar';
import { resolveTarget } from '../../lib/aws/target';

/**
 * `shardline ingest <source>`: copies into the ingest bucket with a progress bar. An HDFS source
 * is read over WebHDFS as `--hdfs-user`, or with the delegation token in
 * `SHARDLINE_HDFS_DELEGATION_TOKEN` (kept off the command line, where `ps` would show it).
 */
export async function ingestCommand(source: string, opts: { prefix: string; hdfsUser?: string; webhdfsPort: number; stack?: string; stateDir: string }): Promise<void> {
  const target = await resolveTarget(opts);
  const progress = createIngestProgress();
  const webhdfs = { user: opts.hdfsUser, httpPort: opts.webhdfsPort, delegationToken: process.env.SHARDLINE_HDFS_DELEGATION_TOKEN || undefined };
  try {
    const result = await ingestPath(source, { bucket: target.resources.ingestBucket, prefix: opts.prefix }, { s3: target.clients.s3, onProgress: progress.onProgress, webhdfs });
    progress.stop();
    console.log(`ingested ${result.files} file(s), ${(result.bytes / 1e6).toFixed(1)} MB into s3://${target.resources.ingestBucket}/${opts.prefix}`);
  } finally {
    progress.stop();
  }
}
