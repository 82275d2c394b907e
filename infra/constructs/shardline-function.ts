import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/package-root';

// The project root from infra/constructs/ and from its compiled copy under dist/ (local mode synthesizes from there).
const PROJECT_ROOT = packageRoot(__dirname);

export interface ShardlineFunctionProps extends Omit<nodejs.NodejsFunctionProps, 'entry' | 'logGroup'> {
  /** Days of log retention for the function's own log group. */
  readonly logRetentionDays: number;
}

/**
 * A Lambda from `functions/<name>.ts` with shardline's defaults: an explicit Node.js runtime on
 * ARM64, bundled by the local esbuild (never Docker) with the SDK left to the runtime, and a log
 * group with retention.
 */
export function shardlineFunction(scope: Construct, id: string, name: string, props: ShardlineFunctionProps): nodejs.NodejsFunction {
  const { logRetentionDays, ...rest } = props;
  return new nodejs.NodejsFunction(scope, id, {
    entry: join(PROJECT_ROOT, 'functions', `${name}.ts`),
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    logGroup: new logs.LogGroup(scope, `${id}Logs`, { retention: logRetentionDays as logs.RetentionDays }),
    bundling: { format: nodejs.OutputFormat.CJS, minify: true, sourceMap: true, externalModules: ['@aws-sdk/*'], forceDockerBundling: false },
    ...rest,
  });
}
