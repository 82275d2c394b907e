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
createShardlineStack(app, `Shardline-${stage}`, defaultStageConfig(stage), {
  description: `shardline (${stage}): S3 ingest to GPU training hosts`,
});
app.synth();
