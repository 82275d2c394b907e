/**
 * The chunker Lambda's handler, built from its dependencies: SQS (ingest-events queue) → plan
 * each created object into chunks → work queue. Returns partial batch failures so only failed
 * events retry (and, after maxReceiveCount, dead-letter); nothing is swallowed. Emits its metrics
 * as EMF (Powertools Metrics, flushed by the `logMetrics` middleware after every invocation).
 * `chunker.ts` wires it from the environment on Lambda; local mode and tests call the factory.
 */
import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { SQSEvent, SQSRecord, Context, SQSBatchResponse } from 'aws-lambda';
import { handleIngestEvent, type ChunkerDeps } from '../lib/chunker/chunker';
import { ingestEventLogFields, MalformedEventError } from '../lib/chunking/s3-event';
import { ChunkerMetric } from '../lib/observability/metric-names';

export interface ChunkerHandlerDeps {
  readonly chunker: ChunkerDeps;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** An SQS-triggered handler with partial batch responses. */
export type ChunkerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** What one invocation planned; emitted once per invocation, zeros included (a steady series). */
interface Tally {
  objects: number;
  chunks: number;
  bytes: number;
  malformed: number;
  /** Objects refused (FAILED: a format or compression that cannot be read). */
  refused: number;
}

/** The chunker handler over the given dependencies. */
export function createChunkerHandler({ chunker, logger, metrics }: ChunkerHandlerDeps): ChunkerHandler {
  const processor = new BatchProcessor(EventType.SQS);

  async function recordHandler(record: SQSRecord, tally: Tally): Promise<void> {
    logger.appendKeys({ messageId: record.messageId });
    try {
      for (const outcome of await handleIngestEvent(chunker, record.body)) {
        if (outcome.outcome === 'refused') tally.refused++;
        if (outcome.outcome !== 'planned') continue;
        tally.objects++;
        tally.chunks += outcome.chunks;
        tally.bytes += outcome.bytes;
      }
    } catch (err) {
      if (err instanceof MalformedEventError) tally.malformed++;
      // Never the body itself: S3 notifications carry the requester's principal and source IP.
      // The message id is given here too: records run in parallel, so the appended key may be another's.
      logger.error('ingest event failed', { messageId: record.messageId, error: err as Error, event: ingestEventLogFields(record.body) });
      throw err;
    } finally {
      logger.removeKeys(['messageId']);
    }
  }

  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const tally: Tally = { objects: 0, chunks: 0, bytes: 0, malformed: 0, refused: 0 };
    try {
      return await processPartialResponse(event, (record: SQSRecord) => recordHandler(record, tally), processor, { context, throwOnFullBatchFailure: false });
    } finally {
      metrics.addMetric(ChunkerMetric.objectsPlanned, MetricUnit.Count, tally.objects);
      metrics.addMetric(ChunkerMetric.chunksPlanned, MetricUnit.Count, tally.chunks);
      metrics.addMetric(ChunkerMetric.bytesPlanned, MetricUnit.Bytes, tally.bytes);
      metrics.addMetric(ChunkerMetric.malformedEvents, MetricUnit.Count, tally.malformed);
      metrics.addMetric(ChunkerMetric.objectsRefused, MetricUnit.Count, tally.refused);
    }
  }).use(logMetrics(metrics));
}
