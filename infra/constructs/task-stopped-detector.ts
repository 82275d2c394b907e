import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { RESOURCES } from '../../lib/resources';
import { shardlineFunction } from './shardline-function';

export interface TaskStoppedDetectorProps {
  /** The cluster the agents run in. */
  readonly cluster: ecs.ICluster;
  /** The agent service: only its tasks are followed (training tasks on the same hosts are not). */
  readonly agentServiceName: string;
  /** The node registry, where the node still running a stopped task is marked DEAD. */
  readonly nodesTable: dynamodb.ITable;
  /** Days of the handler's log retention. */
  readonly logRetentionDays: number;
}

/**
 * Faster failure detection on AWS: an EventBridge rule on the agent service's ECS task-stopped
 * events invokes a Lambda that declares DEAD the node whose record still names that task; the
 * leader then hands its work back. A node is a host: once a replacement agent task has rejoined,
 * the old task's event changes nothing.
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
      description: 'shardline: an agent task stopped; declare its node dead at once unless a new task rejoined',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        // ECS puts a service's tasks in the group `service:<name>`.
        detail: { clusterArn: [props.cluster.clusterArn], group: [`service:${props.agentServiceName}`], lastStatus: ['STOPPED'] },
      },
      targets: [new targets.LambdaFunction(this.handler, { retryAttempts: 3 })],
    });
  }
}
