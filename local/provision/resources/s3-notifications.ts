/**
 * Custom::S3BucketNotifications (what CDK's `bucket.addEventNotification` writes) locally. On
 * AWS a Lambda-backed custom resource puts the configuration; on the emulators that hangs, so
 * the configuration is put here directly. Only queue and EventBridge targets are kept: Lambda
 * code does not run on the emulator (local mode runs handlers in-process on their queues).
 */
import { PutBucketNotificationConfigurationCommand, type NotificationConfiguration } from '@aws-sdk/client-s3';
import { requiredProperty, type ResourceHandler } from './types';

export const provisionBucketNotifications: ResourceHandler = async (logicalId, resource, ctx) => {
  const bucket = requiredProperty(logicalId, resource, 'BucketName', ctx) as string;
  const config = (requiredProperty(logicalId, resource, 'NotificationConfiguration', ctx) ?? {}) as NotificationConfiguration;
  const skipped = (config.LambdaFunctionConfigurations?.length ?? 0) + (config.TopicConfigurations?.length ?? 0);
  if (skipped > 0) ctx.log(`${logicalId}: ${skipped} Lambda/SNS notification target(s) not configured locally`);
  await ctx.clients.s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: {
        QueueConfigurations: config.QueueConfigurations ?? [],
        ...(config.EventBridgeConfiguration ? { EventBridgeConfiguration: config.EventBridgeConfiguration } : {}),
      },
    }),
  );
  return { ref: `${bucket}-notifications`, attributes: {} };
};
