import { AdaptiveConcurrency, jitteredBackoffMs, withThrottleRetries } from '../../lib/agent/throttle-backoff';
import { isThrottle } from '../../lib/aws/throttling';

const awsError = (name: string, status?: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('throttling is back pressure', () => {
  it.each([
    ['S3 SlowDown', awsError('SlowDown', 503), true],
    ['S3 503 without a name', awsError('ServiceUnavailable', 503), true],
    ['DynamoDB throughput exceeded', awsError('ProvisionedThroughputExceededException', 400), true],
    ['DynamoDB throttling', awsError('ThrottlingException', 400), true],
    ['a missing key', awsError('NoSuchKey', 404), false],
    ['a conditional check', awsError('ConditionalCheckFailedException', 400), false],
    ['a plain error', new Error('boom'), false],
  ])('%s → %s', (_name, err, expected) => expect(isThrottle(err)).toBe(expected));

  it('waits a random time below an exponentially growing cap', () => {
    expect(jitteredBackoffMs(0, 500, 10_000, () => 0.999)).toBe(499);
    expect(jitteredBackoffMs(3, 500, 10_000, () => 0.5)).toBe(2000);
    expect(jitteredBackoffMs(10, 500, 10_000, () => 0.999)).toBe(9990);
    expect(jitteredBackoffMs(2, 500, 10_000, () => 0)).toBe(0);
  });

  it('retries throttled work and succeeds, reporting each throttle', async () => {
    let calls = 0;
    const seen: number[] = [];
    const result = await withThrottleRetries(
      async () => {
        if (++calls <= 2) throw awsError('SlowDown', 503);
        return 'done';
      },
      { onThrottle: (_e, attempt) => seen.push(attempt), sleep: async () => undefined },
    );
    expect(result).toBe('done');
    expect(seen).toEqual([0, 1]);
  });

  it('does not retry other errors, and gives up after maxRetries throttles', async () => {
    let calls = 0;
    await expect(
      withThrottleRetries(
        async () => {
          calls++;
          throw new Error('bad record');
        },
        { sleep: async () => undefined },
      ),
    ).rejects.toThrow('bad record');
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      withThrottleRetries(
        async () => {
          calls++;
          throw awsError('SlowDown', 503);
        },
        { maxRetries: 3, sleep: async () => undefined },
      ),
    ).rejects.toThrow('SlowDown');
    expect(calls).toBe(4);
  });
});

describe('AdaptiveConcurrency', () => {
  it('halves on throttling (once per cool-down), never below 1, and grows back one step per streak of successes', () => {
    let now = 0;
    const c = new AdaptiveConcurrency({ successesToGrow: 3, coolDownMs: 1000, now: () => now });
    expect(c.current(8)).toBe(8);
    expect(c.throttled(8)).toBe(4);
    expect(c.throttled(8)).toBe(4); // within the cool-down: one cut per burst
    now += 1000;
    expect(c.throttled(8)).toBe(2);
    now += 1000;
    expect(c.throttled(8)).toBe(1);
    now += 1000;
    expect(c.throttled(8)).toBe(1);
    const grown = [1, 2, 3, 4, 5, 6].map(() => c.succeeded(8));
    expect(grown).toEqual([1, 1, 2, 2, 2, 3]);
  });

  it('never exceeds what the config allows, even when the config is lowered', () => {
    const c = new AdaptiveConcurrency({ successesToGrow: 1 });
    c.throttled(8);
    expect(c.current(2)).toBe(2);
    for (let i = 0; i < 10; i++) c.succeeded(8);
    expect(c.current(8)).toBe(8);
  });
});
