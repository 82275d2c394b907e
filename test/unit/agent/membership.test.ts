import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { heartbeatPeriodMs, Membership } from '../../../lib/agent/membership';
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
  const echo = { nudges: 0 };
  let nudged = 0;
  let handedBack = 0;
  const registry = {
    join: async () => void joins.push(clock.now()),
    heartbeat: async (_nodeId: string, load: NodeLoad, draining = false) => {
      heartbeats.push({ at: clock.now(), draining, load });
      const refusal = refusals.shift();
      if (refusal) throw refusal;
      return { ...echo };
    },
    leave: async () => undefined,
  };
  const membership = new Membership({
    registry,
    identity,
    handBackLeases: async () => (handedBack++, 0),
    load: () => ({ inFlight: 2, chunksDone: 7, concurrency: 4 }),
    onNudged: () => void nudged++,
    clock,
    log,
  });
  return { clock, log, joins, heartbeats, refusals, echo, membership, handedBack: () => handedBack, nudged: () => nudged };
}

describe('Membership', () => {
  it('heartbeats every 1.5 s when started', async () => {
    const { clock, membership, heartbeats } = setup();
    await membership.join();
    membership.start();
    await clock.advance(5000);
    expect(heartbeats.map((h) => h.at)).toEqual([0, 1500, 3000, 4500]);
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
    await clock.advance(2000);
    refusals.push(declaredDead());
    await clock.advance(1500);
    expect(joins).toEqual([0, 3000]);
    expect(handedBack()).toBe(2);
    expect(log.said('this node was declared dead; rejoining')).toBe(1);
    // The refused heartbeat at 3 s, the rejoin's own at 3 s, then every 1.5 s as before.
    await clock.advance(1500);
    expect(heartbeats.map((h) => h.at)).toEqual([0, 1500, 3000, 3000, 4500]);
  });

  it('logs and carries on without rejoining when a heartbeat fails for another reason', async () => {
    const { clock, log, membership, joins, refusals, heartbeats } = setup();
    await membership.join();
    membership.start();
    refusals.push(new Error('socket hang up'));
    await clock.advance(3000);
    expect(joins).toEqual([0]);
    expect(log.said('heartbeat failed')).toBe(1);
    expect(heartbeats.map((h) => h.at)).toEqual([0, 1500, 3000]);
  });

  it('says it is draining in every heartbeat after announcing it, and no longer rejoins', async () => {
    const { clock, membership, joins, refusals, heartbeats } = setup();
    await membership.join();
    membership.start();
    await clock.advance(1500);
    await membership.announceDraining();
    refusals.push(declaredDead());
    await clock.advance(1500);
    expect(heartbeats.map((h) => [h.at, h.draining])).toEqual([
      [0, false],
      [1500, false],
      [1500, true],
      [3000, true],
    ]);
    expect(joins).toEqual([0]);
  });

  it('stops heartbeating when stopped', async () => {
    const { clock, membership, heartbeats } = setup();
    await membership.join();
    membership.start();
    await clock.advance(1500);
    membership.stop();
    await clock.advance(5000);
    expect(heartbeats).toHaveLength(2);
    expect(clock.pending).toBe(0);
  });

  it('tells onNudged when a heartbeat reads back a grown nudge count, once per change', async () => {
    const { clock, membership, echo, nudged } = setup();
    echo.nudges = 4; // from an earlier life of the item: no news for this incarnation
    await membership.join();
    membership.start();
    await clock.advance(1500);
    expect(nudged()).toBe(0);
    echo.nudges = 5;
    await clock.advance(3000);
    expect(nudged()).toBe(1);
  });

  it('beats at half the timeout when the timeout is short, never slower than every 1.5 s', () => {
    expect(heartbeatPeriodMs(3500)).toBe(1500);
    expect(heartbeatPeriodMs(2000)).toBe(1000);
    expect(heartbeatPeriodMs(60_000)).toBe(1500);
  });
});
