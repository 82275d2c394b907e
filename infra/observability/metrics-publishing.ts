import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { METRIC_NAMESPACE } from '../../lib/observability/metric-names';
import { STAGE_ENV_VAR } from '../../lib/observability/stage';

/** What publishes shardline metrics: the agent task and the Lambdas that emit EMF. */
export interface MetricsPublishers {
  /** Stage name: the `Stage` dimension the dashboard and alarms read. */
  readonly stageName: string;
  readonly agentTaskDefinition: ecs.TaskDefinition;
  readonly lambdas: readonly lambda.Function[];
}

/**
 * Lets shardline's metrics reach the dashboard and alarms: every publisher learns its stage
 * (`SHARDLINE_STAGE`, the `Stage` dimension), and the agent task may call PutMetricData in the
 * `Shardline` namespace only (Lambdas emit EMF through their logs and need no permission).
 */
export function enableMetricsPublishing(props: MetricsPublishers): void {
  props.agentTaskDefinition.defaultContainer?.addEnvironment(STAGE_ENV_VAR, props.stageName);
  for (const fn of props.lambdas) fn.addEnvironment(STAGE_ENV_VAR, props.stageName);
  const role = props.agentTaskDefinition.taskRole;
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACE } },
    }),
  );
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: `cloudwatch:PutMetricData has no resource-level permissions; the statement is limited to the ${METRIC_NAMESPACE} namespace by condition.`,
  });
}
