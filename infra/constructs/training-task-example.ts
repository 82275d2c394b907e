import { RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CHECKPOINTS_PREFIX, registryKeys } from '../../lib/checkpoint/layout';
import { INDEXES_PREFIX } from '../../lib/dataset/index-format';
import { RESOURCES } from '../../lib/resources';
import { CACHE_DISK_ATTRIBUTE, CHECKPOINT_SPOOL_VOLUME, checkpointSpoolHostPath } from '../host/cache-disk';

/** Where a training container sees its host's shard cache. */
export const TRAINING_CACHE_DIR = '/shardline/cache';
/** Where a training container sees its host's checkpoint spool (`SHARDLINE_CHECKPOINT_DIR`). */
export const TRAINING_CHECKPOINT_DIR = '/shardline/checkpoints';
/** The agent image's user (agent-container/Dockerfile): training writes the spool as it, so the agent can write status files beside the parts and prune them. */
export const SPOOL_USER = '1000:1000';
/** Prefixes of the processed bucket a training job reads: shards (what the cache lacks), dataset indexes, checkpoints (restore). */
export const TRAINING_READ_PREFIXES = ['shards/', INDEXES_PREFIX, CHECKPOINTS_PREFIX] as const;

export interface TrainingTaskExampleProps {
  /** Host directory of the shard cache (the agent's cache disk); the checkpoint spool is on it too. */
  readonly cacheHostPath: string;
  /** The processed bucket: the reader fetches what the cache lacks, the dataset indexes and checkpoints from it (read access is granted). */
  readonly processedBucket: s3.IBucket;
  /** The ledger table: `Checkpointer.latest()`, `list()` and `restore()` read the checkpoint registry's items in it (read access to those items only). */
  readonly ledgerTable: dynamodb.ITable;
  /** GPUs the training container requests. @default 1 */
  readonly gpus?: number;
  /** Memory (MiB) reserved for the training container. @default 4096 */
  readonly memoryReservationMiB?: number;
  /** The training image. @default a public Python image that lists the GPUs and the cache (a smoke test; use your own) */
  readonly image?: ecs.ContainerImage;
  /** The command of the training container. @default prints `nvidia-smi -L` and the cache's files */
  readonly command?: string[];
  /** Days of log retention. */
  readonly logRetentionDays: number;
}

/**
 * An example training task definition for the GPU hosts: it requests the GPUs (the agent daemon
 * reserves none), mounts the host's shard cache read-only at `/shardline/cache` with
 * `SHARDLINE_CACHE_DIR` set for the Python reader (`ShardlineDataset(..., cache_dir=...)`), and
 * the host's checkpoint spool read-write at `/shardline/checkpoints` with
 * `SHARDLINE_CHECKPOINT_DIR` set for `Checkpointer` (the agent uploads what is saved there). The
 * agent owns the cache (pulls, evicts, rewrites `manifest.json` atomically); training only reads
 * it, and reads from S3 what the cache lacks. It runs as the agent's user and only on hosts whose
 * cache disk is mounted (where an agent runs). Run it on the cluster through the fleet's capacity
 * provider (docs/gpu-hosts.md).
 */
export class TrainingTaskExample extends Construct {
  public readonly taskDefinition: ecs.Ec2TaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TrainingTaskExampleProps) {
    super(scope, id);
    this.taskDefinition = new ecs.Ec2TaskDefinition(this, 'Task', {
      volumes: [
        { name: 'shard-cache', host: { sourcePath: props.cacheHostPath } },
        { name: CHECKPOINT_SPOOL_VOLUME, host: { sourcePath: checkpointSpoolHostPath(props.cacheHostPath) } },
      ],
      // Only where an agent runs: without one nothing uploads the checkpoints saved in the spool.
      placementConstraints: [ecs.PlacementConstraint.memberOf(`attribute:${CACHE_DISK_ATTRIBUTE} exists`)],
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetentionDays as logs.RetentionDays, removalPolicy: RemovalPolicy.DESTROY });
    this.container = this.taskDefinition.addContainer('trainer', {
      image: props.image ?? ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.11-slim'),
      command: props.command ?? ['sh', '-c', 'nvidia-smi -L; ls -l "$SHARDLINE_CACHE_DIR" | head -n 20'],
      gpuCount: props.gpus ?? 1,
      memoryReservationMiB: props.memoryReservationMiB ?? 4096,
      user: SPOOL_USER,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'trainer', logGroup: this.logGroup }),
      environment: {
        SHARDLINE_CACHE_DIR: TRAINING_CACHE_DIR,
        SHARDLINE_CHECKPOINT_DIR: TRAINING_CHECKPOINT_DIR,
        [RESOURCES.processedBucket.envVar]: props.processedBucket.bucketName,
        [RESOURCES.ledgerTable.envVar]: props.ledgerTable.tableName,
      },
    });
    this.container.addMountPoints(
      { sourceVolume: 'shard-cache', containerPath: TRAINING_CACHE_DIR, readOnly: true },
      { sourceVolume: CHECKPOINT_SPOOL_VOLUME, containerPath: TRAINING_CHECKPOINT_DIR, readOnly: false },
    );
    grantTrainingReads(this.taskDefinition.taskRole, props.processedBucket, props.ledgerTable);
  }
}

/**
 * What a training job reads, nothing else: objects under {@link TRAINING_READ_PREFIXES}, the
 * bucket's listing (checkpoint steps; a missing key then reads as 404, not 403), and the checkpoint
 * registry's items (`CKPT#<job>` partitions) of the ledger table. It writes nothing: the agent
 * uploads checkpoints from the spool.
 */
export function grantTrainingReads(role: iam.IRole, bucket: s3.IBucket, ledgerTable: dynamodb.ITable): void {
  role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadTrainingObjects', actions: ['s3:GetObject'], resources: TRAINING_READ_PREFIXES.map((p) => bucket.arnForObjects(`${p}*`)) }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ListProcessedBucket', actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadCheckpointRegistry',
      actions: ['dynamodb:GetItem', 'dynamodb:Query'],
      resources: [ledgerTable.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [registryKeys.pk('*')] }, Null: { 'dynamodb:LeadingKeys': 'false' } },
    }),
  );
}
