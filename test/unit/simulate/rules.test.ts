import { busyRecheckSeconds, holdsLease, isSilent, leaseChunk, revokeLease } from '../../../lib/simulate/rules';
import { EventQueue } from '../../../lib/simulate/event-queue';
import { sampleLatencyMs, seededRandom } from '../../../lib/simulate/prng';

describe('lease rules (as ChunkLedger writes them)', () => {
  it('leases a free chunk, then refuses it to another worker while the lease runs', () => {
    const first = leaseChunk(undefined, 'a', 1000, 120_000);
    expect(first).toEqual({ outcome: 'leased', item: { status: 'LEASED', leaseOwner: 'a', leaseExpiresAt: 121_000, attempt: 1 } });
    if (first.outcome !== 'leased') throw new Error('not leased');
    expect(leaseChunk(first.item, 'b', 5000, 120_000)).toEqual({ outcome: 'busy', leaseExpiresAt: 121_000 });
  });

  it('leases an expired or revoked chunk again with the next attempt, and never a processed one', () => {
    const held = { status: 'LEASED' as const, leaseOwner: 'a', leaseExpiresAt: 10, attempt: 1 };
    expect(leaseChunk(held, 'b', 11, 100)).toMatchObject({ outcome: 'leased', item: { leaseOwner: 'b', attempt: 2 } });
    expect(leaseChunk(revokeLease({ ...held, leaseExpiresAt: 500 }), 'b', 11, 100)).toMatchObject({ outcome: 'leased', item: { attempt: 2 } });
    expect(leaseChunk({ ...held, status: 'PROCESSED' }, 'b', 11, 100)).toEqual({ outcome: 'done' });
  });

  it('refuses a commit of a lease that was revoked or taken over', () => {
    const held = { status: 'LEASED' as const, leaseOwner: 'a', leaseExpiresAt: 10, attempt: 1 };
    expect(holdsLease(held, { owner: 'a', attempt: 1 })).toBe(true);
    expect(holdsLease(revokeLease(held), { owner: 'a', attempt: 1 })).toBe(false);
    expect(holdsLease({ ...held, leaseOwner: 'b', attempt: 2 }, { owner: 'a', attempt: 1 })).toBe(false);
  });

  it('declares a node silent after the timeout, once', () => {
    expect(isSilent({ status: 'ACTIVE', lastHeartbeat: 0 }, 3500, 3500)).toBe(false);
    expect(isSilent({ status: 'ACTIVE', lastHeartbeat: 0 }, 3501, 3500)).toBe(true);
    expect(isSilent({ status: 'DEAD', lastHeartbeat: 0 }, 9000, 3500)).toBe(false);
  });

  it('looks at a busy chunk again between 1 and 5 seconds', () => {
    expect(busyRecheckSeconds(0, 1000)).toBe(1);
    expect(busyRecheckSeconds(3000, 1000)).toBe(3);
    expect(busyRecheckSeconds(120_000, 1000)).toBe(5);
  });
});

describe('EventQueue', () => {
  it('runs events in time order, and equal times in the order they were scheduled', () => {
    const q = new EventQueue();
    const seen: string[] = [];
    q.at(5, () => seen.push('5a'));
    q.at(1, () => seen.push('1'));
    q.at(5, () => seen.push('5b'));
    q.at(3, () => q.after(2, () => seen.push('3+2')));
    while (q.step());
    expect(seen).toEqual(['1', '5a', '5b', '3+2']);
    expect(q.now).toBe(5);
  });
});

describe('seededRandom', () => {
  it('repeats its sequence for a seed, and draws latencies around the given median', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
    const r = seededRandom(1);
    const draws = Array.from({ length: 20_001 }, () => sampleLatencyMs(r, { p50Ms: 10, p99Ms: 50 })).sort((x, y) => x - y);
    expect(draws[10_000]).toBeGreaterThan(9);
    expect(draws[10_000]).toBeLessThan(11);
    expect(draws[19_800]).toBeGreaterThan(40);
    expect(draws[19_800]).toBeLessThan(60);
  });
});
