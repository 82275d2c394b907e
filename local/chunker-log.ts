import type { Logger } from '@aws-lambda-powertools/logger';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { CHUNKER_LOG_FILE } from '../lib/aws/local-state';
import { redirectLogger } from '../lib/observability/log-destination';

/**
 * Appends the in-process chunker Lambda's JSON log lines to `<stateDir>/chunker.log` (on AWS they
 * go to its log group), so `shardline logs` finds them. `close()` gives stdout back and closes the
 * file; call it after the chunker stopped.
 */
export function openChunkerLog(logger: Logger, stateDir: string): { path: string; close(): Promise<void> } {
  const path = join(stateDir, CHUNKER_LOG_FILE);
  const stream = createWriteStream(path, { flags: 'a' });
  const restore = redirectLogger(logger, stream);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        restore();
        stream.end(() => resolve());
      }),
  };
}
