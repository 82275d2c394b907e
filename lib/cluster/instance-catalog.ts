/** What the instance type alone says about a host: its GPUs and its network. */
export interface InstanceTypeInfo {
  gpus: number;
  gpuModel: string;
  /** Memory per GPU, nominal. */
  gpuMemoryMiB: number;
  /** Network bandwidth in Gbps (the baseline-burst figure for "up to" sizes). */
  networkGbps: number;
  /** Whether the figure is a burst ("up to"), not a sustained rate. */
  burst: boolean;
}

type Row = [gpus: number, gbps: number, burst?: 'burst'];
const family = (gpuModel: string, gpuMemoryGiB: number, sizes: Record<string, Row>) =>
  Object.fromEntries(Object.entries(sizes).map(([size, [gpus, networkGbps, burst]]) => [size, { gpus, gpuModel, gpuMemoryMiB: gpuMemoryGiB * 1024, networkGbps, burst: burst === 'burst' }]));

/**
 * The GPU instance families training hosts use, from the EC2 instance type pages. A small table
 * rather than `ec2:DescribeInstanceTypes`: it needs no permission and no network, so identity
 * is the same offline, in tests and on a host whose role cannot describe instance types.
 */
const CATALOG: Record<string, Record<string, InstanceTypeInfo>> = {
  g4dn: family('NVIDIA T4', 16, { xlarge: [1, 25, 'burst'], '2xlarge': [1, 25, 'burst'], '4xlarge': [1, 25, 'burst'], '8xlarge': [1, 50], '12xlarge': [4, 50], '16xlarge': [1, 50], metal: [8, 100] }),
  g5: family('NVIDIA A10G', 24, {
    xlarge: [1, 10, 'burst'],
    '2xlarge': [1, 10, 'burst'],
    '4xlarge': [1, 25, 'burst'],
    '8xlarge': [1, 25],
    '12xlarge': [4, 40],
    '16xlarge': [1, 25],
    '24xlarge': [4, 50],
    '48xlarge': [8, 100],
  }),
  g6: family('NVIDIA L4', 24, {
    xlarge: [1, 10, 'burst'],
    '2xlarge': [1, 10, 'burst'],
    '4xlarge': [1, 25, 'burst'],
    '8xlarge': [1, 25],
    '12xlarge': [4, 40],
    '16xlarge': [1, 25],
    '24xlarge': [4, 50],
    '48xlarge': [8, 100],
  }),
  g6e: family('NVIDIA L40S', 48, {
    xlarge: [1, 20, 'burst'],
    '2xlarge': [1, 20, 'burst'],
    '4xlarge': [1, 20],
    '8xlarge': [1, 25],
    '12xlarge': [4, 100],
    '16xlarge': [1, 35],
    '24xlarge': [4, 200],
    '48xlarge': [8, 400],
  }),
  p3: family('NVIDIA V100', 16, { '2xlarge': [1, 10, 'burst'], '8xlarge': [4, 10], '16xlarge': [8, 25] }),
  p3dn: family('NVIDIA V100', 32, { '24xlarge': [8, 100] }),
  p4d: family('NVIDIA A100', 40, { '24xlarge': [8, 400] }),
  p4de: family('NVIDIA A100', 80, { '24xlarge': [8, 400] }),
  p5: family('NVIDIA H100', 80, { '48xlarge': [8, 3200] }),
  p5e: family('NVIDIA H200', 141, { '48xlarge': [8, 3200] }),
  p5en: family('NVIDIA H200', 141, { '48xlarge': [8, 3200] }),
};

/** What the table knows of an instance type (e.g. `g5.xlarge`), or undefined. */
export function instanceTypeInfo(instanceType: string | undefined): InstanceTypeInfo | undefined {
  if (!instanceType) return undefined;
  const [fam, size] = instanceType.toLowerCase().split('.', 2);
  return size ? CATALOG[fam]?.[size] : undefined;
}

/** The network bandwidth class shown for a node, e.g. 'up to 10 Gbps' or '100 Gbps'. */
export function bandwidthClass(info: Pick<InstanceTypeInfo, 'networkGbps' | 'burst'>): string {
  return `${info.burst ? 'up to ' : ''}${info.networkGbps} Gbps`;
}
