import { LEAVE_POLL_MS, LeaveNotice, spotNotice, type LeaveReason } from '../../../lib/agent/leave-notice';
import { memoryLog } from './fakes';
import { VirtualClock } from './virtual-clock';

/** Instance metadata whose answers a test sets; counts the reads. */
function fakeImds() {
  const answers: Record<string, { status: number; body: string }> = {};
  const reads: string[] = [];
  return {
    answers,
    reads,
    probe: async (path: string) => {
      reads.push(path);
      return answers[path] ?? { status: 404, body: '' };
    },
  };
}

function setup(withImds = true) {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const log = memoryLog();
  const imds = fakeImds();
  const drains: LeaveReason[] = [];
  const notice = new LeaveNotice({ imds: withImds ? imds : undefined, drain: (why) => drains.push(why), clock, log });
  return { clock, log, imds, drains, notice };
}

describe('LeaveNotice', () => {
  it('drains once on a Spot interruption notice, with its deadline, and stops polling', async () => {
    const { clock, imds, drains, notice } = setup();
    notice.start();
    await clock.advance(LEAVE_POLL_MS * 2);
    expect(drains).toEqual([]);
    imds.answers['spot/instance-action'] = { status: 200, body: '{"action": "terminate", "time": "2026-01-01T00:02:10Z"}' };
    await clock.advance(LEAVE_POLL_MS);
    expect(drains).toEqual([{ reason: 'spot interruption: terminate', deadline: Date.UTC(2026, 0, 1, 0, 2, 10) }]);
    const reads = imds.reads.length;
    await clock.advance(LEAVE_POLL_MS * 3);
    expect(imds.reads).toHaveLength(reads);
    expect(drains).toHaveLength(1);
  });

  it('polls instance metadata every 5 s', async () => {
    const { clock, imds, notice } = setup();
    notice.start();
    await clock.advance(LEAVE_POLL_MS * 3);
    expect(imds.reads.filter((p) => p === 'spot/instance-action')).toHaveLength(3);
  });

  it('drains when Auto Scaling terminates the instance', async () => {
    const { clock, imds, drains, notice } = setup();
    imds.answers['autoscaling/target-lifecycle-state'] = { status: 200, body: 'Terminated' };
    notice.start();
    await clock.advance(LEAVE_POLL_MS);
    expect(drains.map((d) => d.reason)).toEqual(['auto scaling: instance is being terminated']);
  });

  it('drains once when the registry says DRAINING, however often a heartbeat sees it', () => {
    const { drains, notice, log } = setup(false);
    notice.drainRequested('spot interruption warning');
    notice.drainRequested('spot interruption warning');
    expect(drains).toEqual([{ reason: 'registry: spot interruption warning' }]);
    expect(log.said('this host is leaving; draining')).toBe(1);
  });

  it('polls nothing where there is no instance metadata (locally)', async () => {
    const { clock, imds, notice } = setup(false);
    notice.start();
    await clock.advance(LEAVE_POLL_MS * 3);
    expect(imds.reads).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});

describe('spotNotice', () => {
  it('reads the action and time, and survives a body it cannot parse', () => {
    expect(spotNotice('{"action":"stop","time":"2026-05-01T10:00:00Z"}')).toEqual({ reason: 'spot interruption: stop', deadline: Date.UTC(2026, 4, 1, 10) });
    expect(spotNotice('<html>')).toEqual({ reason: 'spot interruption' });
  });
});
