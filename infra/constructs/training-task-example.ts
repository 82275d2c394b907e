import { RemovalPolicy } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RESOURCES } from '../../lib/resources';

/** Where a training container sees its host's shard cache. */
export const TRAINING_CACHE_DIR = '/shardline/cache';

export interface TrainingTaskExampleProps {
  /** Host directory of the shard cache (the agent's cache disk). */
  readonly cacheHostPath: string;
  /** The processed bucket: the reader fetches what the cache lacks, and the dataset indexes, from it (read access is granted). */
  readonly processedBucket: s3.IBucket;
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
 * reserves none) and mounts the host's shard cache read-only at `/shardline/cache`, with
 * `SHARDLINE_CACHE_DIR` set for the Python reader (`ShardlineDataset(..., cache_dir=...)`). The
 * agent owns the cache (pulls, evicts, rewrites `manifest.json` atomically); training only reads
 * it, and reads from S3 what the cache lacks. Run it on the cluster through the fleet's capacity
 * provider (docs/gpu-hosts.md).
 */
export class TrainingTaskExample extends Construct {
  public readonly taskDefinition: ecs.Ec2TaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TrainingTaskExampleProps) {
    super(scope, id);
    this.taskDefinition = new ecs.Ec2TaskDefinition(this, 'Task', {
      volumes: [{ name: 'shard-cache', host: { sourcePath: props.cacheHostPath } }],
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetentionDays as logs.RetentionDays, removalPolicy: RemovalPolicy.DESTROY });
    this.container = this.taskDefinition.addContainer('trainer', {
      image: props.image ?? ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.11-slim'),
      command: props.command ?? ['sh', '-c', 'nvidia-smi -L; ls -l "$SHARDLINE_CACHE_DIR" | head -n 20'],
      gpuCount: props.gpus ?? 1,
      memoryReservationMiB: props.memoryReservationMiB ?? 4096,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'trainer', logGroup: this.logGroup }),
      environment: {
        SHARDLINE_CACHE_DIR: TRAINING_CACHE_DIR,
        [RESOURCES.processedBucket.envVar]: props.processedBucket.bucketName,
      },
    });
    this.container.addMountPoints({ sourceVolume: 'shard-cache', containerPath: TRAINING_CACHE_DIR, readOnly: true });
    props.processedBucket.grantRead(this.taskDefinition.taskRole);
  }
}
