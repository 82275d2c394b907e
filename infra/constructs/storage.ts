import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CHECKPOINTS_PREFIX } from '../../lib/checkpoint/layout';
import { STAGING_PREFIX } from '../../lib/storage/layout';

export interface StorageProps {
  /** Keep the bucket when the stack is deleted. */
  readonly retainData: boolean;
  /** Days a deleted or replaced checkpoint object stays recoverable (as a noncurrent version) before it expires. @default 7 */
  readonly checkpointNoncurrentDays?: number;
}

/** Days old versions of other objects of the processed bucket (shards, rejects, manifests) stay recoverable. */
export const NONCURRENT_DAYS = 30;
/** The default of {@link StorageProps.checkpointNoncurrentDays}: checkpoints are large and pruned on purpose. */
export const CHECKPOINT_NONCURRENT_DAYS = 7;

/** Days a staged window of a split compressed object outlives an object that never completed (a redrive within it finds its windows). */
export const STAGING_EXPIRATION_DAYS = 7;

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
 * checkpoint (the durable copy); an access-log bucket records who read or wrote what. The bucket
 * is versioned and nothing in shardline's roles may delete a version: a delete (an abandoned
 * attempt's outputs, a pruned checkpoint step) leaves a delete marker, and the lifecycle rules
 * expire the noncurrent versions (sooner under `checkpoints/`) and then the markers.
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
        { noncurrentVersionExpiration: Duration.days(NONCURRENT_DAYS), expiredObjectDeleteMarker: true },
        // Pruned checkpoint steps: recoverable for a while, but too large to keep a month.
        { prefix: CHECKPOINTS_PREFIX, noncurrentVersionExpiration: Duration.days(props.checkpointNoncurrentDays ?? CHECKPOINT_NONCURRENT_DAYS) },
        // Decompressed windows of split compressed objects: deleted when their object completes. Left
        // over otherwise (a quarantined object, kept for a redrive): a week; deleted ones: a day.
        { prefix: STAGING_PREFIX, expiration: Duration.days(STAGING_EXPIRATION_DAYS), noncurrentVersionExpiration: Duration.days(1) },
      ],
    });
  }
}
