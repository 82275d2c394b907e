import type { Message } from '@aws-sdk/client-sqs';
import { Agent, DEADLINE_MARGIN_MS, PLACEMENT_SETTLE_MS } from '../../../lib/agent/agent';
import { ControlFollower } from '../../../lib/agent/control-follower';
import { LeaderDuties } from '../../../lib/agent/leader-duties';
import { Membership } from '../../../lib/agent/membership';
import { ReplicaKeeper } from '../../../lib/agent/replica-keeper';
import { WorkConsumer } from '../../../lib/agent/work-consumer';
import { parsePipelineConfig } from '../../../lib/config/pipeline-config';
import { INITIAL_CONTROL_STATE } from '../../../lib/control/control-state';
import { identity, memoryLog } from './fakes';
import { VirtualClock } from './virtual-clock';

/** The real parts, over in-memory fakes that write what they are asked into `events` with the time. */
function setup(opts: { chunkMs: number; messages: number }) {
  const clock = new VirtualClock();
  const log = memoryLog();
  const events: string[] = [];
  const event = (what: string) => void events.push(`${clock.now()} ${what}`);
  const queue: Message[] = Array.from({ length: opts.messages }, (_, i) => ({ MessageId: `m${i}` }));
  let token: number | undefined;
  const view = { state: INITIAL_CONTROL_STATE, config: parsePipelineConfig({}), configVersion: 0 };
  const control: ControlFollower = new ControlFollower({
    watch: () => ({ current: () => view, refresh: async () => (event('read control'), view), start: () => event('follow control'), stop: () => event('stop following control') }),
    group: 'default',
    applyConfig: () => work.startWorkers(),
    concurrency: () => work.concurrency,
    handBackLeases: async () => 0,
    inFlight: () => work.inFlight,
    heartbeat: () => membership.heartbeat(),
    active: () => false, // idle: the control table is read at start, then every 30 s
    clock,
    log,
  });
  const work: WorkConsumer = new WorkConsumer({
    receive: async () => {
      event('receive');
      const message = queue.shift();
      if (message) return [message];
      await clock.sleep(2000);
      return [];
    },
    handle: async (message) => {
      await clock.sleep(opts.chunkMs);
      event(`processed ${message.MessageId}`);
      return { result: 'processed' };
    },
    giveBack: async () => undefined,
    leasingAllowed: () => true,
    configured: () => 2,
    clock,
    log,
  });
  const membership: Membership = new Membership({
    registry: {
      join: async () => event('join'),
      heartbeat: async (_id, _load, draining) => event(draining ? 'heartbeat (draining)' : 'heartbeat'),
      leave: async () => event('leave'),
    },
    identity,
    handBackLeases: async () => 0,
    load: () => ({ inFlight: work.inFlight, chunksDone: work.chunksDone, concurrency: work.concurrency }),
    clock,
    log,
  });
  const lease = {
    get currentToken() {
      return token;
    },
    tryAcquire: async () => ((token = 1), true),
    release: async () => ((token = undefined), event('release lease')),
  };
  const leader = new LeaderDuties({ lease, detectFailures: async () => undefined, chores: async () => undefined, clock, log });
  const replicas = new ReplicaKeeper({ puller: { pullOnce: async () => 0 }, clock, log });
  // The real handoff waits for `settled` when it has nothing to hand off: so does this one.
  const handoff = {
    run: async (opts: { deadline: number; settled: Promise<unknown> }) => {
      event(`hand off replicas (deadline ${opts.deadline})`);
      await opts.settled;
      event('replicas handed off');
      return { shards: 0, copies: 0, handedOff: 0, droppedShort: 0, ms: 0 };
    },
  };
  const agent = new Agent({ identity, log }, clock, { control, membership, work, replicas, leader, handoff, readQueueRules: async () => event('read queue rules') });
  return { clock, log, events, agent, queue };
}

describe('Agent', () => {
  it('joins before it follows the control table or takes work when started', async () => {
    const { clock, agent, events, log } = setup({ chunkMs: 10_000, messages: 5 });
    await agent.start();
    await clock.advance(1500);
    expect(events).toEqual(['0 read control', '0 join', '0 heartbeat', '0 read queue rules', '0 receive', '0 receive', '1500 heartbeat']);
    expect(agent.chunksInFlight).toBe(2);
    expect(log.lines.find((l) => l.message === 'agent started')?.fields).toMatchObject({ nodeId: 'node-a', concurrency: 2, desired: 'RUNNING', configVersion: 0 });
  });

  it('stops taking work, finishes the chunks in flight, hands its replicas off, then releases the lead and leaves when drained', async () => {
    const { clock, agent, events, queue, log } = setup({ chunkMs: 10_000, messages: 5 });
    await agent.start();
    await clock.advance(1500);
    events.length = 0;
    let drained = false;
    const draining = agent.drain().then(() => (drained = true));
    await clock.advance(8499);
    expect(drained).toBe(false);
    await clock.advance(1);
    await draining;
    // Heartbeats (saying it drains) go on until the last chunk is done; no receive after the drain
    // began; the handoff starts at once and ends once the chunks are done (10000, after PLACEMENT_SETTLE_MS).
    expect(events).toEqual([
      '1500 heartbeat (draining)',
      '1500 hand off replicas (deadline 61500)',
      '3000 heartbeat (draining)',
      '4500 heartbeat (draining)',
      '6000 heartbeat (draining)',
      '7500 heartbeat (draining)',
      '9000 heartbeat (draining)',
      '10000 processed m0',
      '10000 processed m1',
      '10000 replicas handed off',
      '10000 stop following control',
      '10000 release lease',
      '10000 leave',
    ]);
    expect(queue).toHaveLength(3);
    expect(log.lines.at(-1)).toMatchObject({ message: 'drained and left the cluster', fields: { chunksDone: 2 } });
    expect(clock.pending).toBe(0);
  });

  it('leaves no sooner than PLACEMENT_SETTLE_MS after announcing it drains, and ends the handoff DEADLINE_MARGIN_MS before a given deadline', async () => {
    const { clock, agent, events } = setup({ chunkMs: 100, messages: 0 });
    await agent.start();
    events.length = 0;
    const draining = agent.drain({ deadline: 30_000 }); // the handoff ends DEADLINE_MARGIN_MS before
    await clock.advance(PLACEMENT_SETTLE_MS);
    await draining;
    expect(events.filter((e) => !e.endsWith('heartbeat (draining)'))).toEqual([
      `0 hand off replicas (deadline ${30_000 - DEADLINE_MARGIN_MS})`,
      `${PLACEMENT_SETTLE_MS} replicas handed off`,
      `${PLACEMENT_SETTLE_MS} stop following control`,
      `${PLACEMENT_SETTLE_MS} release lease`,
      `${PLACEMENT_SETTLE_MS} leave`,
    ]);
  });

  it('drains once when asked twice', async () => {
    const { clock, agent, events } = setup({ chunkMs: 100, messages: 0 });
    await agent.start();
    await Promise.all([agent.drain(), agent.drain(), clock.advance(PLACEMENT_SETTLE_MS)]);
    expect(events.filter((e) => e.endsWith('leave'))).toHaveLength(1);
  });
});
