import { diffPlacement, placeShard, type PlacementNode } from '../../../lib/cluster/placement';
import { AssignmentPacer, assignmentOf, holdingsOf, minimumMoves, planHandoff, planMoves, type ShardHolding } from '../../../lib/cluster/rebalance';
import { keys, type ReplicaItem } from '../../../lib/ledger/items';

const node = (i: number, capacity = 100): PlacementNode => ({ nodeId: `node-${i}`, failureDomain: `az-${i % 3}`, capacity });
const cluster = (n: number): PlacementNode[] => Array.from({ length: n }, (_, i) => node(i, 50 + 25 * (i % 4)));
const shardIds = (n: number) => Array.from({ length: n }, (_, i) => `objabc-${String(i).padStart(6, '0')}`);

function replica(nodeId: string, chunkId: string, status: ReplicaItem['status'] = 'PRESENT'): ReplicaItem {
  return { ...keys.replica(nodeId, chunkId), nodeId, chunkId, objectId: 'objabc', shardKey: `shards/${chunkId}.jsonl.gz`, sha256: 'ab', bytes: 7, status, assignedAt: 'then' };
}

/** Holdings as placement over `nodes` put them: what a settled ledger holds. */
function settled(ids: string[], nodes: PlacementNode[], R: number): ShardHolding[] {
  return [...holdingsOf(ids.flatMap((c) => placeShard(c, nodes, R).map((n) => replica(n, c)))).values()];
}

describe('planMoves', () => {
  it('moves exactly the shards whose top-R placement changed when a node joins', () => {
    const before = cluster(4);
    const after = [...before, node(4, 120)];
    const ids = shardIds(400);
    const moves = planMoves(settled(ids, before, 2), after, 2);
    const changed = ids.filter((c) => diffPlacement(placeShard(c, before, 2), placeShard(c, after, 2)).add.length > 0);
    expect(moves.map((m) => m.chunkId).sort()).toEqual(changed.sort());
    expect(minimumMoves(ids, before, after, 2).sort()).toEqual(changed.sort());
    // Roughly the newcomer's share of R copies, and never nothing.
    expect(moves.length).toBeGreaterThan(400 * 0.2);
    expect(moves.length).toBeLessThan(400 * 0.7);
  });

  it('copies each moving shard to the newcomer only and drops one old holder, leaving its top R', () => {
    const before = cluster(5);
    const after = [...before, node(5)];
    for (const move of planMoves(settled(shardIds(300), before, 3), after, 3)) {
      expect(move.add).toEqual(['node-5']);
      expect(move.drop).toHaveLength(1);
      expect(move.placement.sort()).toEqual(placeShard(move.chunkId, after, 3).sort());
    }
  });

  it('moves nothing when the holders are already every shard’s top R', () => {
    const nodes = cluster(6);
    expect(planMoves(settled(shardIds(200), nodes, 2), nodes, 2)).toEqual([]);
  });

  it('drops a surplus holder, and leaves a shard with fewer than R holders to the detector, the leaver and the top-up', () => {
    const nodes = cluster(4);
    const [c] = shardIds(1);
    const [first, second] = placeShard(c, nodes, 2);
    const outside = nodes.map((n) => n.nodeId).find((n) => n !== first && n !== second) as string;
    expect(planMoves(holdingsOf([replica(first, c), replica(second, c), replica(outside, c)]).values(), nodes, 2)).toMatchObject([{ add: [], drop: [outside] }]);
    expect(planMoves(holdingsOf([replica(outside, c)]).values(), nodes, 2)).toEqual([]);
    // With a single node, a placement of one: its holder is all it needs.
    expect(planMoves(holdingsOf([replica(first, c)]).values(), [nodes.find((n) => n.nodeId === first)!], 2)).toEqual([]);
  });
});

describe('planHandoff', () => {
  it('places each of the leaver’s shards over the other nodes and drops only the leaver', () => {
    const nodes = cluster(4);
    const own = shardIds(50)
      .filter((c) => placeShard(c, nodes, 2).includes('node-1'))
      .map((c) => replica('node-1', c));
    const others = nodes.filter((n) => n.nodeId !== 'node-1');
    for (const move of planHandoff(own, 'node-1', nodes, 2)) {
      expect(move.placement).toEqual(placeShard(move.chunkId, others, 2));
      expect(move.drop).toEqual(['node-1']);
      // The survivor keeps the shard: one new holder per shard (rendezvous hashing).
      expect(move.placement.filter((n) => !placeShard(move.chunkId, nodes, 2).includes(n))).toHaveLength(1);
    }
  });

  it('has nowhere to place a shard when the leaver is the last node', () => {
    expect(planHandoff([replica('node-0', 'objabc-000000')], 'node-0', [node(0)], 2)).toMatchObject([{ placement: [], drop: ['node-0'] }]);
  });
});

describe('assignmentOf', () => {
  it('copies the shard, not the holder’s copy, to an ASSIGNED replica on the new node', () => {
    const held = { ...replica('node-1', 'objabc-000003'), presentAt: 'now', localPath: '/cache/x', refusedReason: 'full', refusedAt: 'then', records: 12 } as ReplicaItem;
    expect(assignmentOf(held, 'node-2', Date.UTC(2030, 0, 1))).toEqual({
      ...keys.replica('node-2', 'objabc-000003'),
      nodeId: 'node-2',
      chunkId: 'objabc-000003',
      objectId: 'objabc',
      shardKey: 'shards/objabc-000003.jsonl.gz',
      sha256: 'ab',
      bytes: 7,
      records: 12,
      status: 'ASSIGNED',
      assignedAt: '2030-01-01T00:00:00.000Z',
    });
  });
});

describe('AssignmentPacer', () => {
  it('allows at most the rate per node in any one-second window', () => {
    const pacer = new AssignmentPacer(3);
    const taken = (nodeId: string, at: number) => Array.from({ length: 5 }, () => pacer.tryTake(nodeId, at)).filter(Boolean).length;
    expect(taken('a', 0)).toBe(3);
    expect(taken('b', 0)).toBe(3); // per node
    expect(taken('a', 999)).toBe(0);
    expect(taken('a', 1000)).toBe(3);
  });
});
