import fc from 'fast-check';
import { diffPlacement, placeShard, type PlacementNode } from '../../lib/cluster/placement';

const nodes = (n: number, domains = 3, capacity = (_i: number) => 100): PlacementNode[] =>
  Array.from({ length: n }, (_, i) => ({ nodeId: `node-${i}`, failureDomain: `az-${i % domains}`, capacity: capacity(i) }));

/** Random clusters: 1–12 nodes over 1–4 domains, with integer or fractional capacities. */
const clusterArb = fc
  .array(fc.record({ domain: fc.integer({ min: 0, max: 3 }), capacity: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.double({ min: 0.01, max: 1e12, noNaN: true })) }), {
    minLength: 1,
    maxLength: 12,
  })
  .map((specs) => specs.map((s, i): PlacementNode => ({ nodeId: `node-${i}`, failureDomain: `az-${s.domain}`, capacity: s.capacity })));
const shardArb = fc.string({ minLength: 1, maxLength: 24 });
const replicasArb = fc.integer({ min: 1, max: 4 });

/** Share of shards whose first replica lands on each node, over `count` shard ids. */
function firstReplicaShares(list: PlacementNode[], count: number): Map<string, number> {
  const shares = new Map<string, number>();
  for (let s = 0; s < count; s++) {
    const [first] = placeShard(`shard-${s}`, list, 1);
    shares.set(first, (shares.get(first) ?? 0) + 1 / count);
  }
  return shares;
}

describe('placeShard', () => {
  it('returns the same nodes whatever the order of the node list', () => {
    const arb = clusterArb.chain((list) => fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length })));
    fc.assert(
      fc.property(arb, shardArb, replicasArb, ([list, shuffled], shardId, replicas) => {
        expect(placeShard(shardId, shuffled, replicas)).toEqual(placeShard(shardId, list, replicas));
      }),
      { numRuns: 500 },
    );
  });

  it('returns the same nodes on every call when nothing changes', () => {
    const list = nodes(10);
    const first = Array.from({ length: 100 }, (_, s) => placeShard(`shard-${s}`, list, 2));
    expect(Array.from({ length: 100 }, (_, s) => placeShard(`shard-${s}`, list, 2))).toEqual(first);
  });

  it('uses as many distinct failure domains as the replicas and the cluster allow', () => {
    fc.assert(
      fc.property(clusterArb, shardArb, replicasArb, (list, shardId, replicas) => {
        const placed = placeShard(shardId, list, replicas);
        const domainOf = new Map(list.map((n) => [n.nodeId, n.failureDomain]));
        const domainCount = new Set(list.map((n) => n.failureDomain)).size;
        expect(new Set(placed).size).toBe(placed.length);
        expect(placed).toHaveLength(Math.min(replicas, list.length));
        expect(new Set(placed.map((id) => domainOf.get(id))).size).toBe(Math.min(replicas, domainCount));
      }),
      { numRuns: 500 },
    );
  });

  it('fills from any domain when there are fewer domains than replicas', () => {
    const placed = placeShard('s', nodes(4, 1), 3);
    expect(new Set(placed).size).toBe(3);
  });

  it('returns every node when there are fewer nodes than replicas', () => {
    expect(placeShard('s', nodes(2), 3).sort()).toEqual(['node-0', 'node-1']);
    expect(placeShard('s', [], 2)).toEqual([]);
  });

  it('skips nodes without a positive capacity and places nothing for 0 replicas', () => {
    const list = [...nodes(2), { nodeId: 'zero', failureDomain: 'az-9', capacity: 0 }, { nodeId: 'nan', failureDomain: 'az-8', capacity: NaN }];
    expect(placeShard('s', list, 4).sort()).toEqual(['node-0', 'node-1']);
    expect(placeShard('s', list, 0)).toEqual([]);
  });

  it('gives each node a share of first replicas in proportion to its capacity', () => {
    const list = nodes(5, 2, (i) => [50, 100, 200, 250, 400][i]);
    const shares = firstReplicaShares(list, 20_000);
    for (const n of list) expect(Math.abs((shares.get(n.nodeId) ?? 0) - n.capacity / 1000)).toBeLessThan(0.015);
  });

  it('spreads replicas evenly over equal nodes in equal domains', () => {
    const list = nodes(9, 3);
    const counts = new Map<string, number>();
    const shards = 20_000;
    for (let s = 0; s < shards; s++) for (const id of placeShard(`shard-${s}`, list, 3)) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const n of list) expect(Math.abs((counts.get(n.nodeId) ?? 0) / (shards * 3) - 1 / 9)).toBeLessThan(0.01);
  });

  it('moves only the shards of a node that leaves, each to exactly one other node', () => {
    const arb = clusterArb.chain((list) => fc.tuple(fc.constant(list), fc.integer({ min: 0, max: list.length - 1 })));
    fc.assert(
      fc.property(arb, shardArb, replicasArb, ([list, leaving], shardId, replicas) => {
        const gone = list[leaving].nodeId;
        const rest = list.filter((n) => n.nodeId !== gone);
        const old = placeShard(shardId, list, replicas);
        const next = placeShard(shardId, rest, replicas);
        if (!old.includes(gone)) {
          expect(next).toEqual(old);
          return;
        }
        const { add, remove } = diffPlacement(old, next);
        expect(remove).toEqual([gone]);
        expect(add).toHaveLength(rest.length >= replicas ? 1 : 0);
      }),
      { numRuns: 2000 },
    );
  });

  it('changes only the shards that a joining node takes, each dropping at most one node', () => {
    const arb = clusterArb.chain((list) => fc.tuple(fc.constant(list), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 1000 })));
    fc.assert(
      fc.property(arb, shardArb, replicasArb, ([list, domain, capacity], shardId, replicas) => {
        const joined = [...list, { nodeId: 'node-new', failureDomain: `az-${domain}`, capacity }];
        const old = placeShard(shardId, list, replicas);
        const next = placeShard(shardId, joined, replicas);
        if (!next.includes('node-new')) {
          expect(next).toEqual(old);
          return;
        }
        const { add, remove } = diffPlacement(old, next);
        expect(add).toEqual(['node-new']);
        expect(remove).toHaveLength(list.length >= replicas ? 1 : 0);
      }),
      { numRuns: 2000 },
    );
  });

  it('moves about the capacity share of a joining node, and no more', () => {
    const before = nodes(10, 10, (i) => 50 + 10 * i); // total 950
    const after = [...before, { nodeId: 'node-new', failureDomain: 'az-new', capacity: 300 }];
    const shares = firstReplicaShares(after, 20_000);
    expect(Math.abs((shares.get('node-new') ?? 0) - 300 / 1250)).toBeLessThan(0.015);

    // With distinct domains and equal capacities, a joiner takes 1 / 11 of all replicas.
    const equal = nodes(10, 10);
    const joined = [...equal, { nodeId: 'node-new', failureDomain: 'az-new', capacity: 100 }];
    let moved = 0;
    const shards = 20_000;
    for (let s = 0; s < shards; s++) moved += diffPlacement(placeShard(`s${s}`, equal, 2), placeShard(`s${s}`, joined, 2)).add.length;
    expect(Math.abs(moved / (shards * 2) - 1 / 11)).toBeLessThan(0.01);
  });
});

describe('diffPlacement', () => {
  it('lists the nodes to copy to and to drop from', () => {
    expect(diffPlacement(['a', 'b', 'c'], ['c', 'd', 'a'])).toEqual({ add: ['d'], remove: ['b'] });
    expect(diffPlacement(['a'], ['a'])).toEqual({ add: [], remove: [] });
  });
});
