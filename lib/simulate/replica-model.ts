/**
 * The simulation's shard replicas: where each chunk's shard is placed (the real `placeShard` over
 * the sweep's view, per placement group), the copies on nodes, and their pulls from S3 (a GET, then
 * the replica item marked PRESENT). `simulation.ts` drives it: commits assign, the detector's sweep
 * shrinks the view, recoveries move a dead node's copies.
 */
import { placeShard, type PlacementNode } from '../cluster/placement';
import type { EventQueue } from './event-queue';
import type { SimNode } from './node-model';
import type { Scenario } from './scenario';
import type { RequestSpec, Service, ServiceModel } from './service-model';

/** One replica of a chunk's shard on a node. */
interface Replica {
  node: number;
  present: boolean;
}

export interface ReplicaModelDeps {
  scenario: Scenario;
  nodes: SimNode[];
  q: EventQueue;
  services: ServiceModel;
  spec: (service: Service, kind: 'read' | 'write', extra?: Partial<RequestSpec>) => RequestSpec;
  /** A chunk's shard size, and the processed-bucket prefix its object's shards are under. */
  shardBytesOf: (c: number) => number;
  partitionOf: (c: number) => string;
}

export class ReplicaModel {
  /** Pulls under way (the run is not over while any is). */
  pendingPulls = 0;
  /** When the last pull of a repair ended (every re-placed shard back). */
  lastRepairAt = 0;
  private readonly replicas: Array<Replica[] | undefined>;
  /** The healthy nodes of the latest sweep (ACTIVE, heartbeat within the timeout), as placement targets. */
  private view: PlacementNode[];
  private readonly excluded = new Set<number>();
  private readonly placements = new Map<number, number[]>();
  private readonly byId = new Map<string, number>();

  constructor(private readonly deps: ReplicaModelDeps) {
    this.replicas = new Array<Replica[] | undefined>(deps.scenario.chunks);
    deps.nodes.forEach((n) => this.byId.set(n.id, n.index));
    this.view = deps.nodes.map((n) => this.placementNode(n));
  }

  /** Copies `c`'s shard to its placement: new ASSIGNED replicas on every node that lacks one, each pulled. */
  place(c: number, repair = false): number {
    const list = this.replicas[c] ?? (this.replicas[c] = []);
    let added = 0;
    for (const n of this.placementOf(c)) {
      if (list.some((r) => r.node === n)) continue;
      const replica: Replica = { node: n, present: false };
      list.push(replica);
      this.deps.nodes[n].held.add(c);
      added++;
      this.pull(c, replica, repair);
    }
    return added;
  }

  /** A dead node's copy of `c` is gone: it leaves the shard's holders, then the shard is placed again (a repair). */
  replace(c: number, dead: SimNode): void {
    this.replicas[c] = (this.replicas[c] ?? []).filter((r) => r.node !== dead.index);
    dead.held.delete(c);
    this.place(c, true);
  }

  /** Whether a sweep has taken the node out of the view already. */
  isExcluded(node: number): boolean {
    return this.excluded.has(node);
  }

  /** Nodes left the view: only placements that named one of them change (rendezvous hashing moves nothing else). */
  exclude(left: number[]): void {
    if (left.length === 0) return;
    for (const n of left) this.excluded.add(n);
    const gone = new Set(left);
    this.view = this.deps.nodes.filter((n) => !this.excluded.has(n.index)).map((n) => this.placementNode(n));
    for (const [group, placed] of this.placements) if (placed.some((n) => gone.has(n))) this.placements.delete(group);
  }

  /** The live PRESENT copies of `c`. */
  livePresent(c: number): number {
    return (this.replicas[c] ?? []).filter((r) => r.present && this.deps.nodes[r.node].alive).length;
  }

  private placementNode(n: SimNode): PlacementNode {
    return { nodeId: n.id, failureDomain: n.domain, capacity: Math.max(1, this.deps.scenario.instance.localStorageBytes / 1024 ** 3) };
  }

  /** The chunk's placement over the current view: its group's, by the real `placeShard`, recomputed only when a holder left the view. */
  private placementOf(c: number): number[] {
    const s = this.deps.scenario;
    const group = c % s.placementGroups;
    let placed = this.placements.get(group);
    if (!placed) {
      placed = placeShard(`group-${group}`, this.view, s.config.replicationFactor).map((id) => this.byId.get(id) as number);
      this.placements.set(group, placed);
    }
    return placed;
  }

  private pull(c: number, replica: Replica, repair: boolean): void {
    const { q, services, spec, scenario } = this.deps;
    const node = this.deps.nodes[replica.node];
    this.pendingPulls++;
    const get = services.request(spec('s3', 'read', { partition: this.deps.partitionOf(c), extraMs: (this.deps.shardBytesOf(c) / scenario.latency.s3BytesPerConnection) * 1000 }), q.now);
    // The GET, then the replica item's update to PRESENT: one event for both.
    const mark = services.request(spec('dynamodb', 'write'), get.doneAt);
    q.at(mark.doneAt, () => {
      if (node.alive) replica.present = true;
      this.pendingPulls--;
      if (repair) this.lastRepairAt = q.now;
    });
  }
}
