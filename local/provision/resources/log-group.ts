/**
 * AWS::Logs::LogGroup locally: a log group under a derived name (or the template's), with its
 * retention, so `shardline logs --stack` style searches and the stack outputs that name log groups
 * resolve against the emulator too. Creating it again is harmless.
 */
import { CreateLogGroupCommand, PutRetentionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import { cloudWatchLogsFor } from '../../../lib/logs/cloudwatch-logs-client';
import { logGroupName } from '../names';
import { errorName, optionalProperty, type ResourceHandler } from './types';

export const provisionLogGroup: ResourceHandler = async (logicalId, resource, ctx) => {
  const name = (optionalProperty(logicalId, resource, 'LogGroupName', ctx) as string | undefined) ?? logGroupName(ctx.namePrefix, logicalId);
  const logs = cloudWatchLogsFor(ctx.clients);
  try {
    await logs.send(new CreateLogGroupCommand({ logGroupName: name }));
  } catch (err) {
    if (errorName(err) !== 'ResourceAlreadyExistsException') throw err;
  }
  const retention = optionalProperty(logicalId, resource, 'RetentionInDays', ctx);
  if (retention !== undefined) await logs.send(new PutRetentionPolicyCommand({ logGroupName: name, retentionInDays: Number(retention) }));
  const arn = `arn:${ctx.resolver.partition}:logs:${ctx.clients.region}:${ctx.resolver.accountId()}:log-group:${name}:*`;
  return { ref: name, attributes: { Arn: arn } };
};
