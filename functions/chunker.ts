/**
 * Chunker Lambda: an adapter over lib/chunking. SQS (ingest-events queue) → plan each created
 * object into chunks → work queue. Returns partial batch failures so only failed events retry
 * (and, after maxReceiveCount, dead-letter); nothing is swallowed.
 */
import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSEvent, SQSRecord, Context, SQSBatchResponse } from 'aws-lambda';
import { createChunkerDeps } from '../lib/chunking/chunker-deps';
import { handleIngestEvent } from '../lib/chunking/chunker';
import { createLogger } from '../lib/observability/logger';

const logger = createLogger('shardline-chunker');
const deps = createChunkerDeps(process.env, (level, message, fields) => logger[level](message, fields ?? {}));
const processor = new BatchProcessor(EventType.SQS);

async function recordHandler(record: SQSRecord): Promise<void> {
  logger.appendKeys({ messageId: record.messageId });
  try {
    await handleIngestEvent(deps, record.body);
  } catch (err) {
    logger.error('ingest event failed', { error: err as Error, body: record.body.slice(0, 2000) });
    throw err;
  } finally {
    logger.removeKeys(['messageId']);
  }
}

/** Lambda entry point (also called in-process by local mode). */
export const handler = middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false }),
);
