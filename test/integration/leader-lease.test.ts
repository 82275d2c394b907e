import { FOLLOWER_RETRY_MS, LeaderLease } from '../../lib/cluster/leader-lease';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

/** Followers learn from a refused attempt when to try again: the deputy at the expiry, the others twice a minute. */
describe('leader lease followers (real SDK clients, local endpoint)', () => {
  let env: ProvisionedEndpoint;

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
  }, 60_000);
  afterAll(async () => env?.server.stop());

  it('tells the deputy the holder expiry and every other follower to wait 30 s, and hands over to the deputy once it expires', async () => {
    const { doc } = env.clients;
    const table = env.resources.controlTable;
    const t0 = 1_000_000;
    const leader = new LeaderLease(doc, table, 'a', 3000, { deputy: () => 'b' });
    const b = new LeaderLease(doc, table, 'b', 3000);
    const c = new LeaderLease(doc, table, 'c', 3000);
    expect(await leader.tryAcquire(t0)).toBe(true);
    expect(await leader.tryAcquire(t0 + 500)).toBe(true); // the renewal names the deputy
    expect((await LeaderLease.read(doc, table))?.deputy).toBe('b');

    expect(await b.tryAcquire(t0 + 600)).toBe(false);
    expect(b.otherHolderUntil).toBe(t0 + 3500);
    expect(await c.tryAcquire(t0 + 600)).toBe(false);
    expect(c.otherHolderUntil).toBe(t0 + 600 + FOLLOWER_RETRY_MS);

    // The leader stops renewing: the deputy takes over right after the expiry it was told.
    expect(await b.tryAcquire(t0 + 3501)).toBe(true);
    expect(b.otherHolderUntil).toBeUndefined();
    expect(await leader.tryAcquire(t0 + 3600)).toBe(false); // its renewal is refused: it lost the lease
  });
});
