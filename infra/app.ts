/**
 * CDK app entry (`cdk.json`): one stack per stage, cdk-nag AwsSolutions checks on everything.
 * `cdk synth` needs no credentials and no Docker (the stack is environment-agnostic, the Lambda
 * is bundled by the local esbuild).
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { defaultStageConfig } from './config';
import { createShardlineStack } from './shardline-stack';

const app = new App();
const stage = (app.node.tryGetContext('stage') as string | undefined) ?? 'dev';
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
// Alarm settings that differ per account come from context: `-c alarmEmail=ops@example.com -c targetBytesPerSecond=200000000`.
const alarmEmail = app.node.tryGetContext('alarmEmail') as string | undefined;
const target = app.node.tryGetContext('targetBytesPerSecond') as string | number | undefined;
// Buckets of existing data that runs may process: `-c sourceBuckets=datasets-raw,datasets-archive`.
const sourceBuckets = app.node.tryGetContext('sourceBuckets') as string | undefined;
const config = {
  ...defaultStageConfig(stage),
  ...(alarmEmail ? { alarmEmail } : {}),
  ...(target !== undefined ? { targetBytesPerSecond: Number(target) } : {}),
  ...(sourceBuckets
    ? {
        sourceBuckets: sourceBuckets
          .split(',')
          .map((b) => b.trim())
          .filter(Boolean),
      }
    : {}),
};
createShardlineStack(app, `Shardline-${stage}`, config, {
  description: `shardline (${stage}): S3 ingest to GPU training hosts`,
});
app.synth();
