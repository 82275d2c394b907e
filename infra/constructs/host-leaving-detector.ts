import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { RESOURCES } from '../../lib/resources';
import { shardlineFunction } from './shardline-function';

export interface HostLeavingDetectorProps {
  /** The GPU hosts' Auto Scaling group, whose terminations are followed. */
  readonly autoScalingGroup: autoscaling.IAutoScalingGroup;
  /** The group's termination lifecycle hook: its actions announce a host that is leaving. */
  readonly lifecycleHook: autoscaling.LifecycleHook;
  /** The node registry, where a leaving host's node is marked DRAINING. */
  readonly nodesTable: dynamodb.ITable;
  /** Follow EC2 Spot interruption warnings too (the fleet runs on Spot). @default true */
  readonly spot?: boolean;
  /** Days of the handler's log retention. */
  readonly logRetentionDays: number;
}

/**
 * Tells a host's agent that its host is going away, in time to drain: EventBridge rules on the
 * EC2 Spot interruption warning (two minutes' notice) and on the group's termination lifecycle
 * actions (scale-in, capacity rebalancing, instance refresh) invoke a Lambda that marks the node
 * named by the EC2 instance id DRAINING with the reason. The hook holds the instance until the
 * agent completes the action or the heartbeat times out (then CONTINUE).
 */
export class HostLeavingDetector extends Construct {
  public readonly handler: nodejs.NodejsFunction;
  /** The rule on the group's termination lifecycle actions. */
  public readonly scaleInRule: events.Rule;
  /** The rule on Spot interruption warnings; absent when `spot` is off. */
  public readonly spotInterruptionRule?: events.Rule;

  constructor(scope: Construct, id: string, props: HostLeavingDetectorProps) {
    super(scope, id);
    this.handler = shardlineFunction(this, 'Handler', 'host-leaving', {
      logRetentionDays: props.logRetentionDays,
      environment: { [RESOURCES.nodesTable.envVar]: props.nodesTable.tableName, POWERTOOLS_SERVICE_NAME: 'shardline-host-leaving' },
    });
    // One conditional update per notice, nothing else.
    props.nodesTable.grant(this.handler, 'dynamodb:UpdateItem');
    const target = new targets.LambdaFunction(this.handler, { retryAttempts: 3 });

    this.scaleInRule = new events.Rule(this, 'ScaleIn', {
      description: 'shardline: a GPU host is being terminated by its Auto Scaling group; its agent drains first',
      eventPattern: {
        source: ['aws.autoscaling'],
        detailType: ['EC2 Instance-terminate Lifecycle Action'],
        detail: { AutoScalingGroupName: [props.autoScalingGroup.autoScalingGroupName], LifecycleHookName: [props.lifecycleHook.lifecycleHookName] },
      },
      targets: [target],
    });
    // The warning names only the instance (no group): nodes of other instances are unknown to the registry and left alone.
    if (props.spot ?? true) {
      this.spotInterruptionRule = new events.Rule(this, 'SpotInterruption', {
        description: 'shardline: a Spot GPU host got its two-minute interruption notice; its agent drains',
        eventPattern: { source: ['aws.ec2'], detailType: ['EC2 Spot Instance Interruption Warning'] },
        targets: [target],
      });
    }
  }
}
