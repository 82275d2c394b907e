import fc from 'fast-check';
import { diffPlacement, placeShard, type PlacementNode } from '../../lib/cluster/placement';

const nodes = (n: number, domains = 3, capacity = () => 100): PlacementNode[] =>
  Array.from({ length: n }, (_, i) => ({ nodeId: `node-${i}`, failureDomain: `az-${i % domains}`, capacity: capacity() }));

describe('placeShard', () => {
  it('returns the same nodes whatever the order of the node list', () => {
    const list = nodes(10);
    const shuffled = [...list].reverse();
    for (let s = 0; s < 200; s++) expect(placeShard(`shard-${s}`, shuffled, 2)).toEqual(placeShard(`shard-${s}`, list, 2));
  });

  it('puts the replicas of a shard in distinct failure domains when there are enough', () => {
    const list = nodes(9, 3);
    const domainOf = new Map(list.map((n) => [n.nodeId, n.failureDomain]));
    for (let s = 0; s < 500; s++) {
      const placed = placeShard(`shard-${s}`, list, 3);
      expect(new Set(placed.map((id) => domainOf.get(id))).size).toBe(3);
    }
  });

  it('fills from any domain when there are fewer domains than replicas', () => {
    const placed = placeShard('s', nodes(4, 1), 3);
    expect(new Set(placed).size).toBe(3);
  });

  it('returns every node when there are fewer nodes than replicas', () => {
    expect(placeShard('s', nodes(2), 3).sort()).toEqual(['node-0', 'node-1']);
  });

  it('spreads shards in proportion to capacity', () => {
    const list: PlacementNode[] = [
      { nodeId: 'small', failureDomain: 'a', capacity: 100 },
      { nodeId: 'medium', failureDomain: 'a', capacity: 200 },
      { nodeId: 'large', failureDomain: 'a', capacity: 400 },
      { nodeId: 'large-2', failureDomain: 'a', capacity: 300 },
    ];
    const counts = new Map<string, number>();
    const shards = 20_000;
    for (let s = 0; s < shards; s++) {
      const [first] = placeShard(`shard-${s}`, list, 1);
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    for (const n of list) expect((counts.get(n.nodeId) ?? 0) / shards).toBeCloseTo(n.capacity / 1000, 1);
  });

  it('moves only the replicas of a node that leaves', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 9 }), (shardId, leaving) => {
        const before = nodes(10, 1);
        const after = before.filter((_, i) => i !== leaving);
        const old = placeShard(shardId, before, 2);
        const next = placeShard(shardId, after, 2);
        const { remove, add } = diffPlacement(old, next);
        if (!old.includes(`node-${leaving}`)) return remove.length === 0 && add.length === 0;
        return remove.length === 1 && remove[0] === `node-${leaving}` && add.length === 1;
      }),
      { numRuns: 500 },
    );
  });

  it('moves about its share of replicas to a node that joins', () => {
    const before = nodes(9, 1);
    const after = [...before, { nodeId: 'node-new', failureDomain: 'az-0', capacity: 100 }];
    let moved = 0;
    const shards = 5000;
    for (let s = 0; s < shards; s++) moved += diffPlacement(placeShard(`s${s}`, before, 2), placeShard(`s${s}`, after, 2)).add.length;
    expect(moved / (shards * 2)).toBeGreaterThan(0.05);
    expect(moved / (shards * 2)).toBeLessThan(0.15);
  });
});
