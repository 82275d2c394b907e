import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { RESOURCES, type ResourceKey } from '../lib/resources';
import type { StageConfig } from './config';
import { Shardline } from './shardline';

export interface ShardlineStackProps extends StackProps {
  /** The stage to deploy. */
  readonly config: StageConfig;
}

/** shardline's own stack: one `Shardline` and the outputs clients find its resources by. */
export class ShardlineStack extends Stack {
  public readonly shardline: Shardline;

  constructor(scope: Construct, id: string, props: ShardlineStackProps) {
    super(scope, id, props);
    // The id 'Default' leaves the construct out of logical ids: the resources keep the ids they
    // had when the stack held the constructs itself, so deployed stacks and local names stay put.
    this.shardline = new Shardline(this, 'Default', props.config);
    // Output keys are exactly RESOURCES' names: the CLI and local mode find resources by them.
    for (const [key, value] of Object.entries(this.shardline.resourceNames) as [ResourceKey, string][]) {
      new CfnOutput(this, RESOURCES[key].outputName, { value });
    }
  }
}

/** Adds shardline's stack for `config` to an app (used by `infra/app.ts` and by local mode). */
export function createShardlineStack(app: Construct, id: string, config: StageConfig, props: StackProps = {}): ShardlineStack {
  return new ShardlineStack(app, id, { ...props, config });
}
