import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface StorageProps {
  /** Keep the bucket when the stack is deleted. */
  readonly retainData: boolean;
}

/** Secure-by-default bucket settings shared by shardline's buckets. */
export function secureBucketProps(retainData: boolean, accessLogs?: s3.IBucket, logPrefix?: string): s3.BucketProps {
  return {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: true,
    removalPolicy: retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    ...(accessLogs ? { serverAccessLogsBucket: accessLogs, serverAccessLogsPrefix: logPrefix } : {}),
  };
}

/**
 * Durable storage: the processed bucket holds every shard, rejects file, manifest and
 * checkpoint (the durable copy); an access-log bucket records who read or wrote what.
 */
export class Storage extends Construct {
  public readonly processedBucket: s3.Bucket;
  public readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      ...secureBucketProps(props.retainData),
      versioned: false,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
    });
    this.processedBucket = new s3.Bucket(this, 'Processed', {
      ...secureBucketProps(props.retainData, this.accessLogsBucket, 'processed/'),
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // Outputs of abandoned attempts are never in a manifest; old versions need not linger.
        { noncurrentVersionExpiration: Duration.days(30) },
      ],
    });
  }
}
