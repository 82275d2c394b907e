import type { AwsClients } from '../lib/aws/clients';
import { defaultStageConfig } from '../infra/config';
import { createShardlineStack } from '../infra/shardline-stack';
import { provisionFromTemplate, synthesizeTemplate } from './provision';

/**
 * Provisions on a local endpoint the resources of shardline's own CDK stack: the stack is
 * synthesized in-process and its template drives the provisioning, so local mode and the
 * deployed stack can never disagree about what exists. Returns the stack outputs.
 */
export async function provisionLocalStack(clients: AwsClients, opts: { namePrefix: string; log?: (message: string, fields?: Record<string, unknown>) => void }): Promise<Record<string, string>> {
  const template = synthesizeTemplate((app) => createShardlineStack(app, 'ShardlineLocal', defaultStageConfig('local')));
  const result = await provisionFromTemplate(template, clients, { namePrefix: opts.namePrefix, log: opts.log });
  opts.log?.('provisioned from the CDK template', { skippedTypes: result.skippedTypes.length });
  return result.outputs;
}
