import { Validations } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { RESOURCES } from '../../lib/resources';

/** Who publishes quarantine notices, and where to. */
export interface QuarantineNoticesProps {
  /** The notices topic (the control plane's run notices). */
  readonly topic: sns.ITopic;
  readonly agentTaskDefinition: ecs.TaskDefinition;
}

/**
 * Lets agents tell operators that an object was quarantined: the agent learns the topic
 * (`SHARDLINE_RUN_NOTICES_TOPIC_ARN`) and may publish to it (and use its key), nothing more.
 */
export function enableQuarantineNotices(props: QuarantineNoticesProps): void {
  props.agentTaskDefinition.defaultContainer?.addEnvironment(RESOURCES.runNoticesTopicArn.envVar, props.topic.topicArn);
  const role = props.agentTaskDefinition.taskRole;
  props.topic.grantPublish(role);
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
    reason: "Publishing to the KMS-encrypted notices topic needs the topic key's data keys (grantPublish); the statement names that one key.",
  });
}
