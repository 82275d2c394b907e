import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { Membership } from '../../../lib/agent/membership';
import type { NodeLoad } from '../../../lib/cluster/registry';
import { identity, memoryLog } from './fakes';
import { VirtualClock } from './virtual-clock';

const declaredDead = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

function setup() {
  const clock = new VirtualClock();
  const log = memoryLog();
  const joins: number[] = [];
  const heartbeats: Array<{ at: number; draining: boolean; load: NodeLoad }> = [];
  const refusals: Error[] = [];
  let handedBack = 0;
  const registry = {
    join: async () => void joins.push(clock.now()),
    heartbeat: async (_nodeId: string, load: NodeLoad, draining = false) => {
      heartbeats.push({ at: clock.now(), draining, load });
      const refusal = refusals.shift();
      if (refusal) throw refusal;
    },
    leave: async () => undefined,
  };
  const membership = new Membership({
    registry,
    identity,
    handBackLeases: async () => (handedBack++, 0),
    load: () => ({ inFlight: 2, chunksDone: 7, concurrency: 4 }),
    clock,
    log,
  });
  return { clock, log, joins, heartbeats, refusals, membership, handedBack: () => handedBack };
}

describe('Membership', () => {
  it('heartbeats once a second when started', async () => {
    const { clock, membership, heartbeats } = setup();
    await membership.join();
    membership.start();
    await clock.advance(3500);
    expect(heartbeats.map((h) => h.at)).toEqual([0, 1000, 2000, 3000]);
    expect(heartbeats[1].load).toEqual({ inFlight: 2, chunksDone: 7, concurrency: 4 });
  });

  it('hands back the leases of a previous incarnation when it joins', async () => {
    const { membership, joins, handedBack } = setup();
    await membership.join();
    expect(joins).toEqual([0]);
    expect(handedBack()).toBe(1);
  });

  it('rejoins and hands back its leases when a heartbeat is refused because it was declared dead', async () => {
    const { clock, log, membership, joins, refusals, heartbeats, handedBack } = setup();
    await membership.join();
    membership.start();
    await clock.advance(1500);
    refusals.push(declaredDead());
    await clock.advance(1000);
    expect(joins).toEqual([0, 2000]);
    expect(handedBack()).toBe(2);
    expect(log.said('this node was declared dead; rejoining')).toBe(1);
    // The refused heartbeat at 2 s, the rejoin's own at 2 s, then on the second as before.
    await clock.advance(1000);
    expect(heartbeats.map((h) => h.at)).toEqual([0, 1000, 2000, 2000, 3000]);
  });

  it('logs and carries on without rejoining when a heartbeat fails for another reason', async () => {
    const { clock, log, membership, joins, refusals, heartbeats } = setup();
    await membership.join();
    membership.start();
    refusals.push(new Error('socket hang up'));
    await clock.advance(2000);
    expect(joins).toEqual([0]);
    expect(log.said('heartbeat failed')).toBe(1);
    expect(heartbeats.map((h) => h.at)).toEqual([0, 1000, 2000]);
  });

  it('says it is draining in every heartbeat after announcing it, and no longer rejoins', async () => {
    const { clock, membership, joins, refusals, heartbeats } = setup();
    await membership.join();
    membership.start();
    await clock.advance(1000);
    await membership.announceDraining();
    refusals.push(declaredDead());
    await clock.advance(1000);
    expect(heartbeats.map((h) => [h.at, h.draining])).toEqual([
      [0, false],
      [1000, false],
      [1000, true],
      [2000, true],
    ]);
    expect(joins).toEqual([0]);
  });

  it('stops heartbeating when stopped', async () => {
    const { clock, membership, heartbeats } = setup();
    await membership.join();
    membership.start();
    await clock.advance(1000);
    membership.stop();
    await clock.advance(5000);
    expect(heartbeats).toHaveLength(2);
    expect(clock.pending).toBe(0);
  });
});
