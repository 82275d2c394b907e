import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { createOperatorAlarms } from '../observability/alarms';
import { checkpointWidgets, createCheckpointAlarms } from '../observability/checkpoint-alarms';
import { dashboardRows } from '../observability/dashboard-widgets';

export interface ObservabilityProps {
  /** Stage name: the `Stage` dimension of shardline's metrics, and part of every name. */
  readonly stageName: string;
  readonly workQueue: sqs.IQueue;
  readonly workDlq: sqs.IQueue;
  readonly ingestEventsQueue: sqs.IQueue;
  readonly ingestEventsDlq: sqs.IQueue;
  readonly chunker: lambda.IFunction;
  readonly ledgerTable: dynamodb.ITable;
  readonly nodesTable: dynamodb.ITable;
  readonly controlTable: dynamodb.ITable;
  /** Subscribed to the operator topic (the address must confirm). @default no subscription */
  readonly alarmEmail?: string;
  /** Alarm when fewer nodes are healthy; 0 turns the alarm off. */
  readonly minHealthyNodes: number;
  /** Alarm when the oldest work message is older (seconds). @default 1800 */
  readonly maxWorkMessageAgeSeconds?: number;
  /** Alarm when more chunk attempts fail. @default 10 */
  readonly maxChunkErrorPercent?: number;
  /** Trip the circuit breaker (pause) when more of the objects finished in the window were quarantined. @default 20 */
  readonly maxObjectFailurePercent?: number;
  /** The circuit breaker judges only windows in which at least this many objects finished. @default 10 */
  readonly minObjectsForFailureRate?: number;
  /** The window of the object failure rate, in minutes. @default 15 */
  readonly objectFailureWindowMinutes?: number;
  /** Alarm when the fleet is slower while there is work. @default no throughput alarm */
  readonly targetBytesPerSecond?: number;
  /** Alarm when a training checkpoint part has not become durable for this many minutes. @default 15 */
  readonly maxCheckpointPendingMinutes?: number;
}

/**
 * Observability on AWS: the operator SNS topic every alarm notifies (KMS-encrypted, TLS only),
 * shardline's CloudWatch dashboard and its alarms. The alarm that means the pipeline is hurting
 * its data, a failure rate across objects, is exposed as `circuitBreakerAlarms` for the control
 * plane to pause on; one poison object is quarantined and only notifies.
 */
export class Observability extends Construct {
  public readonly operatorTopic: sns.Topic;
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly alarms: cloudwatch.Alarm[];
  /** In ALARM, the pipeline should pause: the share of finished objects that were quarantined. */
  public readonly circuitBreakerAlarms: cloudwatch.IAlarm[];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const key = new kms.Key(this, 'OperatorTopicKey', {
      description: `shardline ${props.stageName}: encrypts the operator alarm topic`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch must encrypt what it publishes to the topic; the AWS-managed SNS key cannot
    // grant it that, hence a customer key.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.operatorTopic = new sns.Topic(this, 'OperatorTopic', {
      displayName: `shardline ${props.stageName} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.operatorTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const tables = { ledger: props.ledgerTable, nodes: props.nodesTable, control: props.controlTable };
    const objectFailure = {
      maxPercent: props.maxObjectFailurePercent ?? 20,
      minObjects: props.minObjectsForFailureRate ?? 10,
      window: Duration.minutes(props.objectFailureWindowMinutes ?? 15),
    };
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `shardline-${props.stageName}`,
      defaultInterval: Duration.hours(3),
      widgets: dashboardRows({
        stageName: props.stageName,
        queues: { work: props.workQueue, 'work DLQ': props.workDlq, 'ingest events': props.ingestEventsQueue, 'ingest DLQ': props.ingestEventsDlq },
        chunker: props.chunker,
        tables,
        targetBytesPerSecond: props.targetBytesPerSecond,
        minHealthyNodes: props.minHealthyNodes,
        objectFailure,
      }),
    });

    const alarms = createOperatorAlarms(this, {
      stageName: props.stageName,
      workQueue: props.workQueue,
      workDlq: props.workDlq,
      ingestEventsDlq: props.ingestEventsDlq,
      chunker: props.chunker,
      tables,
      minHealthyNodes: props.minHealthyNodes,
      maxWorkMessageAge: Duration.seconds(props.maxWorkMessageAgeSeconds ?? 1800),
      maxChunkErrorPercent: props.maxChunkErrorPercent ?? 10,
      maxObjectFailurePercent: objectFailure.maxPercent,
      minObjectsForFailureRate: objectFailure.minObjects,
      objectFailureWindow: objectFailure.window,
      targetBytesPerSecond: props.targetBytesPerSecond,
    });
    const maxCheckpointPending = Duration.minutes(props.maxCheckpointPendingMinutes ?? 15);
    alarms.all.push(...createCheckpointAlarms(this, { stageName: props.stageName, maxPendingAge: maxCheckpointPending }));
    this.dashboard.addWidgets(...checkpointWidgets(props.stageName, maxCheckpointPending));
    const notify = new actions.SnsAction(this.operatorTopic);
    for (const alarm of alarms.all) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }
    this.alarms = alarms.all;
    this.circuitBreakerAlarms = alarms.circuitBreaker;
  }
}
