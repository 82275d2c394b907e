/**
 * AWS::S3::Bucket locally: the bucket, its versioning, default encryption and public access
 * block. Encryption and public access block are applied as far as the endpoint accepts them
 * (a KMS key the template creates does not exist locally); failures there are logged, not fatal.
 */
import {
  CreateBucketCommand,
  HeadBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  type BucketLocationConstraint,
  type S3Client,
  type ServerSideEncryptionRule,
} from '@aws-sdk/client-s3';
import { bucketName } from '../names';
import { errorName, optionalProperty, type ResourceHandler } from './types';

interface CfnEncryptionRule {
  ServerSideEncryptionByDefault?: ServerSideEncryptionRule['ApplyServerSideEncryptionByDefault'];
  BucketKeyEnabled?: boolean;
}

export const provisionBucket: ResourceHandler = async (logicalId, resource, ctx) => {
  const { s3 } = ctx.clients;
  const name = (optionalProperty(logicalId, resource, 'BucketName', ctx) as string | undefined) ?? bucketName(ctx.namePrefix, logicalId);
  if (!(await bucketExists(s3, name))) {
    const region = ctx.resolver.region;
    try {
      await s3.send(
        new CreateBucketCommand({
          Bucket: name,
          ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
        }),
      );
    } catch (err) {
      if (errorName(err) !== 'BucketAlreadyOwnedByYou') throw err;
    }
  }

  const versioning = optionalProperty(logicalId, resource, 'VersioningConfiguration', ctx) as { Status?: 'Enabled' | 'Suspended' } | undefined;
  if (versioning?.Status) await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: versioning.Status } }));

  // CloudFormation says ServerSideEncryptionByDefault where the S3 API says ApplyServerSideEncryptionByDefault.
  const encryption = optionalProperty(logicalId, resource, 'BucketEncryption', ctx) as { ServerSideEncryptionConfiguration?: CfnEncryptionRule[] } | undefined;
  if (encryption?.ServerSideEncryptionConfiguration) {
    const rules: ServerSideEncryptionRule[] = encryption.ServerSideEncryptionConfiguration.map((r) => ({
      ApplyServerSideEncryptionByDefault: r.ServerSideEncryptionByDefault,
      BucketKeyEnabled: r.BucketKeyEnabled,
    }));
    await bestEffort(ctx, `${logicalId} encryption`, () => s3.send(new PutBucketEncryptionCommand({ Bucket: name, ServerSideEncryptionConfiguration: { Rules: rules } })));
  }
  const publicAccess = optionalProperty(logicalId, resource, 'PublicAccessBlockConfiguration', ctx) as Record<string, boolean> | undefined;
  if (publicAccess) {
    await bestEffort(ctx, `${logicalId} public access block`, () => s3.send(new PutPublicAccessBlockCommand({ Bucket: name, PublicAccessBlockConfiguration: publicAccess })));
  }

  const { partition, region, urlSuffix } = ctx.resolver;
  return {
    ref: name,
    attributes: {
      Arn: `arn:${partition}:s3:::${name}`,
      DomainName: `${name}.s3.${urlSuffix}`,
      RegionalDomainName: `${name}.s3.${region}.${urlSuffix}`,
    },
  };
};

async function bucketExists(s3: S3Client, name: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: name }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

async function bestEffort(ctx: Parameters<ResourceHandler>[2], what: string, apply: () => Promise<unknown>): Promise<void> {
  try {
    await apply();
  } catch (err) {
    ctx.log(`${what} not applied locally`, { error: (err as Error).message });
  }
}
