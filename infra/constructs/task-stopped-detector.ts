import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { RESOURCES } from '../../lib/resources';
import { shardlineFunction } from './shardline-function';

export interface TaskStoppedDetectorProps {
  readonly cluster: ecs.ICluster;
  readonly nodesTable: dynamodb.ITable;
  readonly logRetentionDays: number;
}

/**
 * Faster failure detection on AWS: an EventBridge rule on the cluster's ECS task-stopped events
 * invokes a Lambda that declares the task's node DEAD at once; the leader then hands its work back.
 */
export class TaskStoppedDetector extends Construct {
  public readonly rule: events.Rule;
  public readonly handler: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: TaskStoppedDetectorProps) {
    super(scope, id);
    this.handler = shardlineFunction(this, 'Handler', 'task-stopped', {
      logRetentionDays: props.logRetentionDays,
      environment: { [RESOURCES.nodesTable.envVar]: props.nodesTable.tableName, POWERTOOLS_SERVICE_NAME: 'shardline-task-stopped' },
    });
    props.nodesTable.grantReadWriteData(this.handler);
    this.rule = new events.Rule(this, 'TaskStopped', {
      description: 'shardline: an agent task stopped; declare its node dead at once',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: { clusterArn: [props.cluster.clusterArn], lastStatus: ['STOPPED'] },
      },
      targets: [new targets.LambdaFunction(this.handler, { retryAttempts: 3 })],
    });
  }
}
