import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PREPARE_CACHE_DISK_SCRIPT } from '../../../infra/host/cache-disk';

const INSTANCE_STORE = 'Amazon EC2 NVMe Instance Storage';
const EBS = 'Amazon Elastic Block Store';

interface FakeDevice {
  readonly name: string;
  readonly model: string;
  /** Partitions under /sys/block/<name>/ (the root volume has some). */
  readonly partitions?: number;
}

interface FakeHost {
  readonly devices: readonly FakeDevice[];
  /** /dev/<link> -> <target>, as udev links the block device mapping name on Nitro. */
  readonly links?: Record<string, string>;
  /** Devices listed in /proc/mounts. */
  readonly mounted?: readonly string[];
  /** Whether blkid finds a file system (a data volume formatted on an earlier boot). */
  readonly formatted?: boolean;
  /** Whether the mount point is already mounted. */
  readonly alreadyMounted?: boolean;
  /** Asks for the checkpoint spool (the script's third argument) at `<cache>/checkpoints`. */
  readonly spool?: boolean;
}

interface Run {
  readonly status: number | null;
  readonly calls: string[];
  readonly ecsConfig: string;
  readonly fstab: string;
  readonly stderr: string;
  readonly dev: string;
  readonly cache: string;
  readonly spool: string;
}

const scratch = mkdtempSync(join(tmpdir(), 'shardline-cache-disk-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let hosts = 0;

/** Runs the script on a fake /sys and /dev with every command that touches a disk stubbed (each call logged). */
function runOn(host: FakeHost): Run {
  const root = join(scratch, `host${++hosts}`);
  const dev = join(root, 'dev');
  const bin = join(root, 'bin');
  for (const dir of [dev, bin, join(root, 'sys', 'block'), join(root, 'etc')]) mkdirSync(dir, { recursive: true });
  for (const d of host.devices) {
    mkdirSync(join(root, 'sys', 'block', d.name, 'device'), { recursive: true });
    writeFileSync(join(root, 'sys', 'block', d.name, 'device', 'model'), `${d.model}\n`);
    for (let p = 1; p <= (d.partitions ?? 0); p++) mkdirSync(join(root, 'sys', 'block', d.name, `${d.name}p${p}`));
    writeFileSync(join(dev, d.name), '');
  }
  for (const [link, target] of Object.entries(host.links ?? {})) symlinkSync(target, join(dev, link));
  writeFileSync(join(root, 'mounts'), (host.mounted ?? []).map((d) => `${join(dev, d)} / xfs rw 0 0\n`).join(''));
  const calls = join(root, 'calls');
  const stub = (name: string, status: number) => {
    writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >> "${calls}"\nexit ${status}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  for (const name of ['mdadm', 'mkfs.xfs', 'mount', 'chown', 'yum']) stub(name, 0);
  stub('blkid', host.formatted ? 0 : 2);
  stub('mountpoint', host.alreadyMounted ? 0 : 1);

  const spool = join(root, 'cache', 'checkpoints');
  const result = spawnSync('bash', [PREPARE_CACHE_DISK_SCRIPT, join(root, 'cache'), 'xvdb', ...(host.spool ? [spool] : [])], {
    encoding: 'utf8',
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      SHARDLINE_SYS_ROOT: root,
      SHARDLINE_DEV_ROOT: dev,
      SHARDLINE_PROC_MOUNTS: join(root, 'mounts'),
      SHARDLINE_ECS_CONFIG: join(root, 'etc', 'ecs.config'),
      SHARDLINE_FSTAB: join(root, 'etc', 'fstab'),
      SHARDLINE_MDADM_CONF: join(root, 'etc', 'mdadm.conf'),
    },
  });
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');
  return {
    status: result.status,
    calls: read(calls).split('\n').filter(Boolean),
    ecsConfig: read(join(root, 'etc', 'ecs.config')),
    fstab: read(join(root, 'etc', 'fstab')),
    stderr: result.stderr,
    dev,
    cache: join(root, 'cache'),
    spool,
  };
}

const rootVolume: FakeDevice = { name: 'nvme0n1', model: EBS, partitions: 2 };

describe('prepare-cache-disk.sh', () => {
  it('is valid bash', () => {
    expect(() => execFileSync('bash', ['-n', PREPARE_CACHE_DISK_SCRIPT])).not.toThrow();
  });

  it('stripes every instance-store volume into one RAID0 array when the host has several', () => {
    const run = runOn({ devices: [rootVolume, { name: 'nvme1n1', model: INSTANCE_STORE }, { name: 'nvme2n1', model: INSTANCE_STORE }] });

    expect(run.status).toBe(0);
    const raid = `${run.dev}/md/shardline-cache`;
    expect(run.calls).toEqual([
      `mountpoint -q ${run.cache}`,
      `mdadm --create ${raid} --level=0 --raid-devices=2 --run ${run.dev}/nvme1n1 ${run.dev}/nvme2n1`,
      'mdadm --detail --scan',
      `blkid ${raid}`,
      `mkfs.xfs -f -L slcache ${raid}`,
      `mount -o noatime ${raid} ${run.cache}`,
      `chown 1000:1000 ${run.cache}`,
    ]);
    expect(run.ecsConfig).toBe('ECS_INSTANCE_ATTRIBUTES={"shardline.cache-disk":"nvme"}\n');
    expect(run.fstab).toBe(`LABEL=slcache ${run.cache} xfs defaults,noatime,nofail 0 2\n`);
  });

  it('formats a single instance-store volume without RAID', () => {
    const run = runOn({ devices: [rootVolume, { name: 'nvme1n1', model: INSTANCE_STORE }] });

    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => c.startsWith('mdadm'))).toEqual([]);
    expect(run.calls).toContain(`mkfs.xfs -f -L slcache ${run.dev}/nvme1n1`);
    expect(run.ecsConfig).toContain('"shardline.cache-disk":"nvme"');
  });

  it('uses the EBS data volume named by its block device mapping when the host has no instance store', () => {
    const run = runOn({ devices: [rootVolume, { name: 'nvme1n1', model: EBS }], links: { xvdb: 'nvme1n1' } });

    expect(run.status).toBe(0);
    expect(run.calls).toContain(`mkfs.xfs -f -L slcache ${run.dev}/nvme1n1`);
    expect(run.calls).toContain(`mount -o noatime ${run.dev}/nvme1n1 ${run.cache}`);
    expect(run.ecsConfig).toBe('ECS_INSTANCE_ATTRIBUTES={"shardline.cache-disk":"ebs"}\n');
  });

  it('finds the EBS data volume without the udev link, never taking the partitioned or mounted root volume', () => {
    const run = runOn({ devices: [rootVolume, { name: 'nvme1n1', model: EBS }, { name: 'nvme2n1', model: EBS }], mounted: ['nvme1n1'] });

    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => c.startsWith('mkfs.xfs'))).toEqual([`mkfs.xfs -f -L slcache ${run.dev}/nvme2n1`]);
  });

  it('keeps the file system of a data volume formatted on an earlier boot', () => {
    const run = runOn({ devices: [rootVolume, { name: 'nvme1n1', model: EBS }], links: { xvdb: 'nvme1n1' }, formatted: true });

    expect(run.calls.filter((c) => c.startsWith('mkfs'))).toEqual([]);
    expect(run.calls).toContain(`mount -o noatime ${run.dev}/nvme1n1 ${run.cache}`);
  });

  it('mounts nothing and leaves the host unmarked when it has neither instance store nor a data volume', () => {
    const run = runOn({ devices: [rootVolume] });

    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => !c.startsWith('mountpoint'))).toEqual([]);
    expect(run.ecsConfig).toBe('');
    expect(run.stderr).toMatch(/no instance store and no EBS data volume/);
  });

  it('creates the checkpoint spool on the mounted disk for the agent image user when asked', () => {
    const run = runOn({ devices: [rootVolume, { name: 'nvme1n1', model: INSTANCE_STORE }], spool: true });

    expect(run.status).toBe(0);
    expect(run.calls.slice(-2)).toEqual([`chown 1000:1000 ${run.cache}`, `chown 1000:1000 ${run.spool}`]);
    expect(statSync(run.spool).isDirectory()).toBe(true);
    expect(statSync(run.spool).mode & 0o777).toBe(0o755);
  });

  it('creates no spool without a disk (no agent runs there to upload from it)', () => {
    const run = runOn({ devices: [rootVolume], spool: true });

    expect(run.status).toBe(0);
    expect(existsSync(run.spool)).toBe(false);
  });

  it('creates the spool on an already mounted cache, leaving the mount alone', () => {
    const run = runOn({ devices: [rootVolume, { name: 'nvme1n1', model: INSTANCE_STORE }], alreadyMounted: true, spool: true });

    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => !c.startsWith('mountpoint'))).toEqual([`chown 1000:1000 ${run.spool}`]);
  });

  it('leaves an already mounted cache alone', () => {
    const run = runOn({ devices: [rootVolume, { name: 'nvme1n1', model: INSTANCE_STORE }], alreadyMounted: true });

    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => !c.startsWith('mountpoint'))).toEqual([]);
  });
});
