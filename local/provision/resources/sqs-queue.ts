/**
 * AWS::SQS::Queue locally, with the attributes that change behaviour (visibility, retention,
 * delay, redrive to a DLQ, FIFO). The template writes RedrivePolicy as an object whose
 * deadLetterTargetArn is an Fn::GetAtt of the DLQ; the provisioner creates the DLQ first, and
 * SQS wants the policy as a JSON string. On a second run the queue exists: its attributes are
 * set again instead (CreateQueue refuses differing attributes).
 */
import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { queueName } from '../names';
import { errorName, optionalProperty, requiredProperty, type ResourceHandler } from './types';

/** Template property → SQS attribute, for the attributes that are plain values. */
const PLAIN_ATTRIBUTES = [
  'VisibilityTimeout',
  'MessageRetentionPeriod',
  'DelaySeconds',
  'MaximumMessageSize',
  'ReceiveMessageWaitTimeSeconds',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
  'SqsManagedSseEnabled',
] as const;

export const provisionQueue: ResourceHandler = async (logicalId, resource, ctx) => {
  const { sqs } = ctx.clients;
  const fifo = String(optionalProperty(logicalId, resource, 'FifoQueue', ctx)) === 'true';
  const name = (optionalProperty(logicalId, resource, 'QueueName', ctx) as string | undefined) ?? queueName(ctx.namePrefix, logicalId, fifo);

  const attributes: Record<string, string> = {};
  for (const key of PLAIN_ATTRIBUTES) {
    const value = optionalProperty(logicalId, resource, key, ctx);
    if (value !== undefined) attributes[key] = String(value);
  }
  const redrive = requiredProperty(logicalId, resource, 'RedrivePolicy', ctx);
  if (redrive !== undefined) attributes.RedrivePolicy = typeof redrive === 'string' ? redrive : JSON.stringify(redrive);

  let queueUrl: string;
  try {
    const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { ...attributes, ...(fifo ? { FifoQueue: 'true' } : {}) } }));
    queueUrl = created.QueueUrl as string;
  } catch (err) {
    if (!['QueueAlreadyExists', 'QueueNameExists', 'QueueDeletedRecently'].includes(errorName(err))) throw err;
    queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl as string;
  }
  if (Object.keys(attributes).length > 0) await sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: attributes }));

  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return { ref: queueUrl, attributes: { Arn: out.Attributes?.QueueArn as string, QueueName: name, QueueUrl: queueUrl } };
};
