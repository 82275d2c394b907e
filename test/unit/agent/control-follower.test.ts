import { ControlFollower } from '../../../lib/agent/control-follower';
import { parsePipelineConfig, type PipelineConfig } from '../../../lib/config/pipeline-config';
import { INITIAL_CONTROL_STATE } from '../../../lib/control/control-state';
import type { ControlView } from '../../../lib/control/control-watcher';
import { memoryLog } from './fakes';
import { VirtualClock } from './virtual-clock';

const config = parsePipelineConfig({});

/** A control watcher in memory: `publish` records a new view, as a poll of the control table would. */
function setup() {
  const clock = new VirtualClock(5000);
  const log = memoryLog();
  let view: ControlView = { state: INITIAL_CONTROL_STATE, config, configVersion: 0 };
  let onChange: (view: ControlView, previous: ControlView) => void = () => undefined;
  const polling: number[] = [];
  const reads: number[] = [];
  const state = { active: true };
  const applied: PipelineConfig[] = [];
  let concurrency = 2;
  let heartbeats = 0;
  let handBacks = 0;
  const follower = new ControlFollower({
    watch: (listener) => {
      onChange = listener;
      return { current: () => view, refresh: async () => (reads.push(clock.now()), view), start: (ms) => void polling.push(ms ?? 0), stop: () => void polling.push(-1) };
    },
    group: 'trainers',
    applyConfig: (next) => {
      applied.push(next);
      concurrency = next.concurrencyPerNode;
    },
    concurrency: () => concurrency,
    handBackLeases: async () => (handBacks++, 3),
    inFlight: () => 1,
    heartbeat: async () => void heartbeats++,
    active: () => state.active,
    clock,
    log,
  });
  const publish = (next: Partial<ControlView>) => {
    const previous = view;
    view = { ...view, ...next };
    onChange(view, previous);
  };
  return { clock, log, follower, publish, polling, reads, state, applied, heartbeats: () => heartbeats, handBacks: () => handBacks };
}

describe('ControlFollower', () => {
  it('applies the config in force and counts its start as the last action when refreshed', async () => {
    const { follower, applied } = setup();
    await follower.refresh();
    expect(applied).toEqual([config]);
    expect(follower.lastActionAt).toBe(5000);
  });

  it('obeys nothing when a change comes before it follows', async () => {
    const { follower, publish, applied, heartbeats } = setup();
    publish({ configVersion: 2, config: { ...config, concurrencyPerNode: 8 } });
    expect(applied).toEqual([]);
    expect(heartbeats()).toBe(0);
    expect(follower.lastActionAt).toBe(0);
  });

  it('applies a new config version, logs the concurrency change and heartbeats when following', async () => {
    const { log, follower, publish, applied, heartbeats } = setup();
    follower.follow(1000);
    publish({ configVersion: 2, config: { ...config, concurrencyPerNode: 8 } });
    expect(applied.map((c) => c.concurrencyPerNode)).toEqual([8]);
    expect(log.lines.find((l) => l.message === 'config version applied')?.fields).toEqual({ configVersion: 2, concurrency: 8, previousConcurrency: 2 });
    expect(heartbeats()).toBe(1);
  });

  it('records the time and hands back every lease when an emergency stop arrives', async () => {
    const { clock, log, follower, publish, handBacks } = setup();
    follower.follow(1000);
    await clock.advance(1500);
    publish({ state: { desired: 'STOPPED', generation: 4, emergency: true, action: 'emergency-stop' } });
    await clock.advance(0);
    expect(follower.lastActionAt).toBe(6500);
    expect(handBacks()).toBe(1);
    expect(log.lines.find((l) => l.message === 'emergency stop: handed back leases')?.fields).toEqual({ revoked: 3, inFlight: 1 });
  });

  it('hands back nothing when a new generation is not an emergency', async () => {
    const { follower, publish, handBacks, heartbeats } = setup();
    follower.follow(1000);
    publish({ state: { desired: 'PAUSED', generation: 1, emergency: false, action: 'pause' } });
    expect(handBacks()).toBe(0);
    expect(heartbeats()).toBe(1);
  });

  it('reports the generation, desired state, config version and group it obeys', async () => {
    const { follower, publish } = setup();
    publish({ state: { desired: 'PAUSED', generation: 3, emergency: false }, configVersion: 5, configError: 'config version 6 refused: bad' });
    expect(follower.report()).toEqual({ controlGeneration: 3, desired: 'PAUSED', configVersion: 5, configGroup: 'trainers', configError: 'config version 6 refused: bad' });
  });

  it('reads the control table every poll while busy, every 30 s while idle, and at once when nudged', async () => {
    const { clock, follower, reads, state } = setup();
    follower.follow(1000);
    await clock.advance(3000);
    expect(reads).toEqual([6000, 7000, 8000]);
    state.active = false;
    await clock.advance(40_000);
    expect(reads).toEqual([6000, 7000, 8000, 38_000]);
    follower.nudged();
    await clock.advance(0);
    expect(reads.at(-1)).toBe(48_000);
    follower.stop();
    await clock.advance(60_000);
    expect(reads).toHaveLength(5);
  });

  it('reads before work only when its view is older than asked', async () => {
    const { clock, follower, reads } = setup();
    await follower.refresh();
    await clock.advance(1500);
    await follower.freshen(2000);
    expect(reads).toEqual([5000]);
    await clock.advance(1000);
    await follower.freshen(2000);
    expect(reads).toEqual([5000, 7500]);
  });
});
