/** Host-leaving Lambda entry point: wires the handler's dependencies from the function's environment. */
import { createAwsClients } from '../lib/aws/clients';
import { NodeRegistry } from '../lib/cluster/registry';
import { createMetrics } from '../lib/observability/lambda-metrics';
import { createLogger } from '../lib/observability/logger';
import { resourcesFromEnv } from '../lib/resources';
import { createHostLeavingHandler } from './host-leaving-handler';

export const handler = createHostLeavingHandler({
  registry: new NodeRegistry(createAwsClients().doc, resourcesFromEnv(process.env, ['nodesTable']).nodesTable),
  logger: createLogger('shardline-host-leaving'),
  metrics: createMetrics('shardline-host-leaving'),
});
