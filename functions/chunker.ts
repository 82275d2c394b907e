/**
 * Chunker Lambda: an adapter over lib/chunking. SQS (ingest-events queue) → plan each created
 * object into chunks → work queue. Returns partial batch failures so only failed events retry
 * (and, after maxReceiveCount, dead-letter); nothing is swallowed. Emits its metrics as EMF
 * (Powertools Metrics, flushed by the `logMetrics` middleware after every invocation).
 */
import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { SQSEvent, SQSRecord, Context, SQSBatchResponse } from 'aws-lambda';
import { createChunkerDeps } from '../lib/chunking/chunker-deps';
import { handleIngestEvent } from '../lib/chunking/chunker';
import { MalformedEventError } from '../lib/chunking/s3-event';
import { createMetrics } from '../lib/observability/lambda-metrics';
import { createLogger } from '../lib/observability/logger';
import { ChunkerMetric } from '../lib/observability/metric-names';

/** Exported so local mode can send the in-process chunker's lines to its own log file. */
export const logger = createLogger('shardline-chunker');
const metrics = createMetrics('shardline-chunker');
const deps = createChunkerDeps(process.env, (level, message, fields) => logger[level](message, fields ?? {}));
const processor = new BatchProcessor(EventType.SQS);

/** What one invocation planned; emitted once per invocation, zeros included (a steady series). */
interface Tally {
  objects: number;
  chunks: number;
  bytes: number;
  malformed: number;
}

async function recordHandler(record: SQSRecord, tally: Tally): Promise<void> {
  logger.appendKeys({ messageId: record.messageId });
  try {
    for (const outcome of await handleIngestEvent(deps, record.body)) {
      if (outcome.outcome !== 'planned') continue;
      tally.objects++;
      tally.chunks += outcome.chunks;
      tally.bytes += outcome.bytes;
    }
  } catch (err) {
    if (err instanceof MalformedEventError) tally.malformed++;
    logger.error('ingest event failed', { error: err as Error, body: record.body.slice(0, 2000) });
    throw err;
  } finally {
    logger.removeKeys(['messageId']);
  }
}

/** Lambda entry point (also called in-process by local mode). */
export const handler = middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const tally: Tally = { objects: 0, chunks: 0, bytes: 0, malformed: 0 };
  try {
    return await processPartialResponse(event, (record: SQSRecord) => recordHandler(record, tally), processor, { context, throwOnFullBatchFailure: false });
  } finally {
    metrics.addMetric(ChunkerMetric.objectsPlanned, MetricUnit.Count, tally.objects);
    metrics.addMetric(ChunkerMetric.chunksPlanned, MetricUnit.Count, tally.chunks);
    metrics.addMetric(ChunkerMetric.bytesPlanned, MetricUnit.Bytes, tally.bytes);
    metrics.addMetric(ChunkerMetric.malformedEvents, MetricUnit.Count, tally.malformed);
  }
}).use(logMetrics(metrics));
