/** Task-stopped Lambda entry point: wires the handler's dependencies from the function's environment. */
import { createAwsClients } from '../lib/aws/clients';
import { NodeRegistry } from '../lib/cluster/registry';
import { createMetrics } from '../lib/observability/lambda-metrics';
import { createLogger } from '../lib/observability/logger';
import { resourcesFromEnv } from '../lib/resources';
import { createTaskStoppedHandler } from './task-stopped-handler';

export const handler = createTaskStoppedHandler({
  registry: new NodeRegistry(createAwsClients().doc, resourcesFromEnv(process.env, ['nodesTable']).nodesTable),
  logger: createLogger('shardline-task-stopped'),
  metrics: createMetrics('shardline-task-stopped'),
});
