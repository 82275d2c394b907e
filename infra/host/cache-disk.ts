import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The boot script that puts the shard cache on its own disk (beside this file, in dist/ too). */
export const PREPARE_CACHE_DISK_SCRIPT = join(__dirname, 'prepare-cache-disk.sh');
/** ECS container instance attribute the script sets once the cache disk is mounted (`nvme` or `ebs`). */
export const CACHE_DISK_ATTRIBUTE = 'shardline.cache-disk';
/** Block device mapping name of the EBS data volume (a udev link to its NVMe device on Nitro hosts). */
export const DATA_VOLUME_DEVICE = 'xvdb';
/** Directory of the checkpoint spool below the cache disk's mount point (beside the cache's `shards/`, which the cache alone touches). */
export const CHECKPOINT_SPOOL_DIR_NAME = 'checkpoints';
/** The host directory of the checkpoint spool: on the cache disk, shared by the agent and training containers. */
export const checkpointSpoolHostPath = (cacheMountPoint: string) => `${cacheMountPoint}/${CHECKPOINT_SPOOL_DIR_NAME}`;
/** Name of the task volume of the checkpoint spool, in the agent's and training tasks' definitions. */
export const CHECKPOINT_SPOOL_VOLUME = 'checkpoint-spool';
/** Where the script lands on the host. */
const HOST_SCRIPT = '/opt/shardline/prepare-cache-disk.sh';

/** Options of {@link addCacheDiskUserData}. */
export interface CacheDiskOptions {
  /** Host directory the cache disk is mounted at. */
  readonly mountPoint: string;
  /** Host directory of the checkpoint spool, created on the disk for the agent's user. @default none */
  readonly spoolDir?: string;
}

/**
 * Adds to a host's user data the cache disk preparation: the script is written to the host and
 * run at boot, before the ECS agent starts. A failure leaves the host unmarked, so no agent is
 * placed there (rather than a cache on the root volume).
 */
export function addCacheDiskUserData(userData: ec2.UserData, opts: CacheDiskOptions): void {
  const script = readFileSync(PREPARE_CACHE_DISK_SCRIPT, 'utf8').trimEnd();
  if (script.split('\n').includes('SHARDLINE_SCRIPT')) throw new Error('prepare-cache-disk.sh must not contain the heredoc delimiter SHARDLINE_SCRIPT');
  userData.addCommands(
    `mkdir -p ${HOST_SCRIPT.slice(0, HOST_SCRIPT.lastIndexOf('/'))}`,
    `cat > ${HOST_SCRIPT} <<'SHARDLINE_SCRIPT'`,
    script,
    'SHARDLINE_SCRIPT',
    `bash ${HOST_SCRIPT} ${opts.mountPoint} ${DATA_VOLUME_DEVICE}${opts.spoolDir ? ` ${opts.spoolDir}` : ''} || echo "shardline: cache disk preparation failed; no agent runs on this host" >&2`,
  );
}

/** The encrypted gp3 EBS data volume that holds the cache on hosts without instance store; none for size 0. */
export function cacheDataVolume(sizeGiB: number): ec2.BlockDevice[] {
  if (sizeGiB === 0) return [];
  return [
    {
      deviceName: `/dev/${DATA_VOLUME_DEVICE}`,
      volume: ec2.BlockDeviceVolume.ebs(sizeGiB, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3, deleteOnTermination: true }),
    },
  ];
}
