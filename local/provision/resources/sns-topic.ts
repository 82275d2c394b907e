/**
 * AWS::SNS::Topic locally: a topic under a derived name (CreateTopic is idempotent). Encryption
 * and policies are AWS-side settings with nothing to emulate.
 */
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { topicName } from '../names';
import { optionalProperty, type ResourceHandler } from './types';

export const provisionTopic: ResourceHandler = async (logicalId, resource, ctx) => {
  const name = (optionalProperty(logicalId, resource, 'TopicName', ctx) as string | undefined) ?? topicName(ctx.namePrefix, logicalId);
  const out = await ctx.clients.sns.send(new CreateTopicCommand({ Name: name }));
  const arn = out.TopicArn as string;
  return { ref: arn, attributes: { TopicArn: arn, TopicName: name } };
};
