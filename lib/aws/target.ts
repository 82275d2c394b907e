import { createAwsClients, type AwsClients } from './clients';
import { resourcesFromOutputs, type ResourceNames } from '../resources';
import { readLocalState } from './local-state';

/** Where an operator command acts: a deployed stack on AWS, or the local environment. */
export interface Target {
  clients: AwsClients;
  resources: ResourceNames;
  endpoint?: string;
  label: string;
}

export interface TargetOptions {
  /** CloudFormation stack name of a deployment; without it, the local environment is used. */
  stack?: string;
  stateDir?: string;
}

/** Resolves the resources of a deployed stack (from its outputs) or of `shardline local up`. */
export async function resolveTarget(opts: TargetOptions): Promise<Target> {
  if (opts.stack) {
    // Required here: only --stack needs CloudFormation, and local commands should not load it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { CloudFormationClient, DescribeStacksCommand } = require('@aws-sdk/client-cloudformation') as typeof import('@aws-sdk/client-cloudformation');
    const cfn = new CloudFormationClient({});
    const out = await cfn.send(new DescribeStacksCommand({ StackName: opts.stack }));
    const outputs = Object.fromEntries((out.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey as string, o.OutputValue as string]));
    return { clients: createAwsClients({}), resources: resourcesFromOutputs(outputs), label: `stack ${opts.stack}` };
  }
  const state = await readLocalState(opts.stateDir);
  return {
    clients: createAwsClients({ endpoint: state.endpoint, region: state.region }),
    resources: state.resources,
    endpoint: state.endpoint,
    label: `local (${state.endpoint})`,
  };
}
