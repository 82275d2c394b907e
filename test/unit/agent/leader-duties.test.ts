import { LeaderDuties } from '../../../lib/agent/leader-duties';
import type { RecoveriesInProgress } from '../../../lib/cluster/failure-detector';
import { memoryLog } from './fakes';
import { VirtualClock } from './virtual-clock';

/** A leader lease that grants while `free`, taking `renewMs` per call. */
class FakeLease {
  token?: number;
  free = true;
  renewMs = 0;
  renewals: number[] = [];
  active = 0;
  maxActive = 0;
  released = false;
  /** When refused: until when the other holder's lease runs, as the refusal read it. */
  otherHolderUntil?: number;
  heldByOtherFor = 3000;

  constructor(private readonly clock: VirtualClock) {}

  get currentToken(): number | undefined {
    return this.token;
  }

  async tryAcquire(): Promise<boolean> {
    this.renewals.push(this.clock.now());
    this.maxActive = Math.max(this.maxActive, ++this.active);
    if (this.renewMs) await this.clock.sleep(this.renewMs);
    this.active--;
    this.token = this.free ? (this.token ?? 7) : undefined;
    this.otherHolderUntil = this.free ? undefined : this.clock.now() + this.heldByOtherFor;
    return this.free;
  }

  async release(): Promise<void> {
    this.released = true;
    this.token = undefined;
  }
}

function setup(opts: { sweepMs?: number; leading?: boolean } = {}) {
  const clock = new VirtualClock();
  const log = memoryLog();
  const lease = new FakeLease(clock);
  if (opts.leading) lease.token = 7;
  const sweeps: number[] = [];
  const tokens: number[] = [];
  const chores: number[] = [];
  let sweeping = 0;
  let maxSweeping = 0;
  let onSweep: (recoveries: RecoveriesInProgress) => void = () => undefined;
  const duties = new LeaderDuties({
    lease,
    detectFailures: async (recoveries) => {
      sweeps.push(clock.now());
      maxSweeping = Math.max(maxSweeping, ++sweeping);
      onSweep(recoveries);
      if (opts.sweepMs) await clock.sleep(opts.sweepMs);
      sweeping--;
    },
    onLeaderSweep: ({ token }) => void tokens.push(token),
    chores: async () => void chores.push(clock.now()),
    clock,
    log,
  });
  return { clock, log, lease, duties, sweeps, tokens, chores, maxSweeping: () => maxSweeping, onSweep: (fn: typeof onSweep) => (onSweep = fn) };
}

describe('LeaderDuties', () => {
  it('renews the lease every 500 ms when started', async () => {
    const { clock, lease, duties } = setup();
    duties.start();
    await clock.advance(2000);
    expect(lease.renewals).toEqual([500, 1000, 1500, 2000]);
  });

  it('skips a renewal when the previous one is still running', async () => {
    const { clock, lease, duties } = setup();
    lease.renewMs = 1200;
    duties.start();
    await clock.advance(4000);
    // 500 → 1700, then the next tick after it: 2000 → 3200, then 3500.
    expect(lease.renewals).toEqual([500, 2000, 3500]);
    expect(lease.maxActive).toBe(1);
  });

  it('tries to take a lease another node holds only once the expiry it read has passed', async () => {
    const { clock, lease, duties } = setup();
    lease.free = false;
    duties.start();
    await clock.advance(8000);
    // Refused at 0.5 s (held until 3.5 s): next try at the first tick after 3.5 s, and so on.
    expect(lease.renewals).toEqual([500, 4000, 7500]);
    lease.free = true;
    await clock.advance(3500);
    expect(lease.renewals).toEqual([500, 4000, 7500, 11_000, 11_500]); // taken at 11 s, renewed every 500 ms from then on
    expect(duties.leading).toBe(true);
  });

  it('logs becoming leader and losing the lease when the lease changes hands', async () => {
    const { clock, log, lease, duties } = setup();
    duties.start();
    await clock.advance(500);
    lease.free = false;
    await clock.advance(500);
    expect(log.lines.map((l) => l.message)).toEqual(['became leader', 'lost the leader lease']);
  });

  it('sweeps the failure detector every 500 ms only while it holds the lease', async () => {
    const { clock, lease, duties, sweeps, tokens } = setup();
    lease.free = false;
    lease.heldByOtherFor = 0; // the other holder's lease ends at once: tried at every tick
    duties.start();
    await clock.advance(2000);
    expect(sweeps).toEqual([]);
    lease.free = true; // renewed at 2500, before the sweep timer of 2500 fires
    await clock.advance(2000);
    expect(sweeps).toEqual([2500, 3000, 3500, 4000]);
    expect(tokens).toEqual([7, 7, 7, 7]);
  });

  it('runs one sweep at a time when a sweep outlasts its period', async () => {
    const { clock, duties, sweeps, maxSweeping } = setup({ leading: true, sweepMs: 1200 });
    duties.start();
    await clock.advance(4000);
    expect(sweeps).toEqual([500, 2000, 3500]);
    expect(maxSweeping()).toBe(1);
  });

  it('runs the chores every second only while it holds the lease', async () => {
    const { clock, lease, duties, chores } = setup({ leading: true });
    duties.start();
    await clock.advance(3000);
    lease.free = false;
    await clock.advance(3000);
    // The renewal at 3500 loses the lease.
    expect(chores).toEqual([1000, 2000, 3000]);
  });

  it('logs a failed sweep and sweeps again at the next tick', async () => {
    const { clock, log, duties, sweeps, onSweep } = setup({ leading: true });
    onSweep(() => {
      throw new Error('registry unreachable');
    });
    duties.start();
    await clock.advance(1000);
    expect(sweeps).toEqual([500, 1000]);
    expect(log.said('leader duty failed')).toBe(2);
  });

  it('stops every timer when stopped, and waits for the recoveries it started', async () => {
    const { clock, lease, duties, sweeps, onSweep } = setup({ leading: true });
    let recovered = false;
    onSweep((recoveries) => {
      if (!recoveries.size)
        recoveries.set(
          'node-b',
          clock.sleep(3000).then(() => void (recovered = true)),
        );
    });
    duties.start();
    await clock.advance(500);
    duties.stop();
    let done = false;
    const waiting = duties.recoveriesDone().then(() => (done = true));
    await clock.advance(2999);
    expect(done).toBe(false);
    await clock.advance(1);
    await waiting;
    expect(recovered).toBe(true);
    expect(sweeps).toEqual([500]);
    expect(lease.renewals).toEqual([500]);
    await duties.release();
    expect(lease.released).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('shows the rebalancer every sweep while it leads, and stops it before giving the lease up', async () => {
    const clock = new VirtualClock();
    const lease = new FakeLease(clock);
    const seen: string[] = [];
    const rebalancer = {
      observe: async (token: number) => void seen.push(`${clock.now()} observe ${token}`),
      stop: async () => void seen.push(`stop (lease held: ${lease.token !== undefined})`),
    };
    const duties = new LeaderDuties({ lease, detectFailures: async () => undefined, chores: async () => undefined, rebalancer, clock, log: memoryLog() });
    duties.start();
    await clock.advance(1500);
    duties.stop();
    await duties.release();
    // The lease is taken at 500, before the sweep timer of 500 fires.
    expect(seen).toEqual(['500 observe 7', '1000 observe 7', '1500 observe 7', 'stop (lease held: true)']);
    expect(lease.released).toBe(true);
  });
});
