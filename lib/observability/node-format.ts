import type { NodeCacheLoad, NodeItem } from '../cluster/registry';
import { formatBytes } from '../units';

/** What the node-describing helpers read of a node row. */
export type NodeHardware = Partial<Pick<NodeItem, 'instanceType' | 'cpus' | 'memoryMiB' | 'gpus' | 'gpuModel' | 'gpuMemoryMiB' | 'networkBandwidth' | 'region' | 'availabilityZone'>>;

/** `4×A10G 24G`, `-` without GPUs (the vendor prefix dropped: every model is NVIDIA's). */
export function gpuSummary(n: NodeHardware): string {
  if (!n.gpus) return '-';
  const model = n.gpuModel ? n.gpuModel.replace(/^NVIDIA\s+/i, '') : 'GPU';
  const memory = n.gpuMemoryMiB ? ` ${Math.round(n.gpuMemoryMiB / 1024)}G` : '';
  return `${n.gpus}×${model}${memory}`;
}

/** `8 vCPU 32G`: CPUs and memory. */
export function hostSummary(n: NodeHardware): string {
  return `${n.cpus ?? '?'} vCPU ${n.memoryMiB ? Math.round(n.memoryMiB / 1024) : '?'}G`;
}

/** `1.20 GB/4.00 GB (70%)`, from the heartbeat's cache report (else the capacity at join). */
export function cacheSummary(cache: NodeCacheLoad | undefined, capacityAtJoin?: number): string {
  if (!cache) return capacityAtJoin ? `?/${formatBytes(capacityAtJoin, 'fixed')}` : '-';
  const pct = cache.capacityBytes > 0 ? Math.round((cache.usedBytes / cache.capacityBytes) * 100) : 0;
  const refused = cache.refused > 0 ? ` ${cache.refused} refused` : '';
  return `${formatBytes(cache.usedBytes, 'fixed')}/${formatBytes(cache.capacityBytes, 'fixed')} (${pct}%)${refused}`;
}

/** `us-west-2a` or `us-west-2`, `-` locally. */
export function placeSummary(n: NodeHardware): string {
  return n.availabilityZone ?? n.region ?? '-';
}
