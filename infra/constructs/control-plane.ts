import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { controlDefinition } from '../state-machines/control';
import { runDefinition } from '../state-machines/run';
import type { DataSources } from './data-sources';

export interface ControlPlaneProps {
  readonly controlTable: dynamodb.ITable;
  readonly chunkerEventSource: SqsEventSource;
  readonly ingestEventsQueue: sqs.IQueue;
  readonly sourceBuckets: s3.IBucket[];
  readonly processedBucket: s3.IBucket;
  /** Alarms that trip the circuit breaker: in ALARM, the pipeline is paused. */
  readonly circuitBreakerAlarms?: cloudwatch.IAlarm[];
  readonly logRetentionDays: number;
  /** What the state machines log to CloudWatch Logs. @default ERROR */
  readonly stateMachineLogLevel?: sfn.LogLevel;
  /** Log the executions' input and output (the requester, reasons, run totals) with each event. @default false */
  readonly stateMachineLogExecutionData?: boolean;
  /** DataSync sources the run state machine starts on `{"source": "<name>"}`; without them that input fails as an unknown source. */
  readonly dataSources?: DataSources;
}

/**
 * Step Functions control plane: the control state machine (pause, resume, drain, stop,
 * emergency-stop), the run state machine (process everything under a prefix), the SNS topic run
 * notices go to, and the circuit breaker (an alarm in ALARM starts `pause` through EventBridge).
 */
export class ControlPlane extends Construct {
  public readonly controlStateMachine: sfn.StateMachine;
  public readonly runStateMachine: sfn.StateMachine;
  public readonly runNotices: sns.Topic;
  public readonly circuitBreakerRule?: events.Rule;

  constructor(scope: Construct, id: string, props: ControlPlaneProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', { retention: props.logRetentionDays as logs.RetentionDays, removalPolicy: RemovalPolicy.DESTROY });
    const machine = (name: string, definition: sfn.IChainable, timeout: Duration) =>
      new sfn.StateMachine(this, name, {
        definitionBody: sfn.DefinitionBody.fromChainable(definition),
        timeout,
        tracingEnabled: true,
        logs: { destination: logGroup, level: props.stateMachineLogLevel ?? sfn.LogLevel.ERROR, includeExecutionData: props.stateMachineLogExecutionData ?? false },
      });
    // Long waits and long listings continue as a new execution of the same machine
    // (state-machines/pacing.ts). A policy apart from the role's default one: the machine
    // depends on its role, so a grant there naming the machine would be a cycle.
    const continuesAsNew = (name: string, m: sfn.StateMachine) =>
      new iam.Policy(this, `${name}ContinuesAsNew`, { roles: [m.role], statements: [new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [m.stateMachineArn] })] });

    this.controlStateMachine = machine(
      'Control',
      controlDefinition(this, {
        controlTable: props.controlTable,
        eventSourceMappingId: props.chunkerEventSource.eventSourceMappingId,
        eventSourceMappingArn: props.chunkerEventSource.eventSourceMappingArn,
      }),
      Duration.hours(24),
    );
    continuesAsNew('Control', this.controlStateMachine);

    this.runNotices = new sns.Topic(this, 'RunNotices', {
      displayName: 'shardline run notices',
      masterKey: new kms.Key(this, 'RunNoticesKey', { enableKeyRotation: true, removalPolicy: RemovalPolicy.DESTROY }),
      enforceSSL: true,
    });
    this.runStateMachine = machine(
      'Run',
      runDefinition(this, {
        controlTable: props.controlTable,
        ingestEventsQueue: props.ingestEventsQueue,
        sourceBuckets: props.sourceBuckets,
        processedBucketName: props.processedBucket.bucketName,
        topic: this.runNotices,
        dataSources: props.dataSources
          ? Object.entries(props.dataSources.taskArns).map(([name, taskArn]) => ({ name, taskArn, prefix: props.dataSources!.sources[name].destination.subdirectory ?? '' }))
          : [],
      }),
      Duration.hours(24),
    );
    continuesAsNew('Run', this.runStateMachine);
    props.dataSources?.grantStart(this.runStateMachine);

    const alarms = props.circuitBreakerAlarms ?? [];
    if (alarms.length > 0) {
      this.circuitBreakerRule = new events.Rule(this, 'CircuitBreaker', {
        description: 'shardline circuit breaker: a tripped alarm pauses the pipeline',
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          resources: alarms.map((a) => a.alarmArn),
          detail: { state: { value: ['ALARM'] } },
        },
        targets: [
          new targets.SfnStateMachine(this.controlStateMachine, {
            input: events.RuleTargetInput.fromObject({
              action: 'pause',
              reason: `circuit breaker: alarm ${events.EventField.fromPath('$.detail.alarmName')} is in ALARM`,
              requestedBy: 'circuit-breaker (EventBridge)',
            }),
          }),
        ],
      });
    }
  }
}
