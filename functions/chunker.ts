/**
 * Chunker Lambda entry point: wires the handler's dependencies from the function's environment
 * once per container (a bad config or a missing resource fails the init, with the reason).
 */
import { createAwsClients } from '../lib/aws/clients';
import { createChunkerDeps } from '../lib/chunker/chunker-deps';
import { configFromEnv } from '../lib/config/pipeline-config';
import { createMetrics } from '../lib/observability/lambda-metrics';
import { createLogger, logTo } from '../lib/observability/logger';
import { resourcesFromEnv } from '../lib/resources';
import { createChunkerHandler } from './chunker-handler';

const logger = createLogger('shardline-chunker');
const names = resourcesFromEnv(process.env, ['processedBucket', 'workQueueUrl', 'ledgerTable', 'controlTable']);

export const handler = createChunkerHandler({
  chunker: createChunkerDeps(createAwsClients(), names, configFromEnv(process.env), logTo(logger)),
  logger,
  metrics: createMetrics('shardline-chunker'),
});
