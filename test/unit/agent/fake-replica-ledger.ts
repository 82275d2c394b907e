import type { PlacementNode } from '../../../lib/cluster/placement';
import { placeShard } from '../../../lib/cluster/placement';
import { replicaKeyOf, type ReplicaKey } from '../../../lib/cluster/rebalance';
import type { ReplicaMoves } from '../../../lib/cluster/replica-moves';
import { keys, type ReplicaItem, type ReplicaStatus } from '../../../lib/ledger/items';
import type { VirtualClock } from './virtual-clock';

export const nodesNamed = (...ids: string[]): PlacementNode[] => ids.map((nodeId, i) => ({ nodeId, failureDomain: `az-${i % 3}`, capacity: 100 }));

/**
 * The replica items of the ledger in memory, with the nodes' pullers: an ASSIGNED replica
 * becomes PRESENT `pullMs` after it is assigned (never on the nodes in `refusing`). Every drop is
 * checked against the rule it must keep: a shard never has fewer than `R` PRESENT copies left
 * (`violations` lists those that would have).
 */
export class FakeReplicaLedger implements Pick<ReplicaMoves, 'replicasOf' | 'statusOf' | 'assign' | 'drop' | 'recordPlacement'> {
  readonly items = new Map<string, ReplicaItem>();
  readonly assigned: Array<{ at: number; nodeId: string; chunkId: string }> = [];
  readonly dropped: Array<{ at: number; nodeId: string; chunkId: string }> = [];
  readonly violations: string[] = [];
  readonly refusing = new Set<string>();
  requests = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly R: number,
    private readonly pullMs = 1000,
  ) {}

  /** Puts `shards` shards where `placeShard` over `nodes` puts them, PRESENT. */
  seed(shards: number, nodes: PlacementNode[]): string[] {
    const ids = Array.from({ length: shards }, (_, i) => `obj-${String(i).padStart(6, '0')}`);
    for (const chunkId of ids) for (const nodeId of placeShard(chunkId, nodes, this.R)) this.put(nodeId, chunkId, 'PRESENT');
    return ids;
  }

  put(nodeId: string, chunkId: string, status: ReplicaStatus): void {
    const item: ReplicaItem = { ...keys.replica(nodeId, chunkId), nodeId, chunkId, objectId: 'obj', shardKey: `shards/${chunkId}.gz`, sha256: 'f00d', bytes: 10, status, assignedAt: 'then' };
    if (status === 'PRESENT') Object.assign(item, { presentAt: 'then', localPath: `/cache/${chunkId}` });
    this.items.set(replicaKeyOf(item), item);
  }

  /** The nodes holding a shard (with the given status, or any). */
  holders(chunkId: string, status?: ReplicaStatus): string[] {
    return [...this.items.values()]
      .filter((r) => r.chunkId === chunkId && (!status || r.status === status))
      .map((r) => r.nodeId)
      .sort();
  }

  async replicasOf(nodeId: string): Promise<ReplicaItem[]> {
    this.requests++;
    return [...this.items.values()].filter((r) => r.nodeId === nodeId).map((r) => ({ ...r }));
  }

  async statusOf(replicas: ReplicaKey[]): Promise<Map<string, ReplicaStatus>> {
    this.requests++;
    const found = new Map<string, ReplicaStatus>();
    for (const r of replicas) {
      const item = this.items.get(replicaKeyOf(r));
      if (item) found.set(replicaKeyOf(r), item.status);
    }
    return found;
  }

  async assign(replicas: ReplicaItem[]): Promise<number> {
    this.requests++;
    let created = 0;
    for (const r of replicas) {
      const key = replicaKeyOf(r);
      if (this.items.has(key)) continue;
      expect(r).toMatchObject({ status: 'ASSIGNED', ...keys.replica(r.nodeId, r.chunkId) });
      expect(r.presentAt).toBeUndefined();
      this.items.set(key, { ...r });
      this.assigned.push({ at: this.clock.now(), nodeId: r.nodeId, chunkId: r.chunkId });
      created++;
      if (!this.refusing.has(r.nodeId))
        void this.clock.sleep(this.pullMs).then(() => {
          const item = this.items.get(key);
          if (item?.status === 'ASSIGNED') item.status = 'PRESENT';
        });
    }
    return created;
  }

  async drop(replicas: ReplicaKey[]): Promise<number> {
    this.requests++;
    let deleted = 0;
    for (const r of replicas) {
      const before = this.holders(r.chunkId, 'PRESENT').length;
      if (!this.items.delete(replicaKeyOf(r))) continue;
      deleted++;
      this.dropped.push({ at: this.clock.now(), ...r });
      const left = this.holders(r.chunkId, 'PRESENT').length;
      if (left < this.R && left < before) this.violations.push(`${r.chunkId}: ${left} PRESENT left after dropping ${r.nodeId}`);
    }
    return deleted;
  }

  async recordPlacement(): Promise<void> {
    this.requests++;
  }
}
