import { LeaseLostError, type ChunkLease, type ChunkLedger } from '../ledger/chunk-ledger';
import type { Log } from '../log';
import type { Clock } from './clock';
import { setVisibility, type WorkQueueDeps } from './work-message';

/** A running keep-alive: `assertHeld` throws once the ledger said the lease was lost. */
export interface KeepAlive {
  stop(): void;
  assertHeld(): void;
}

/** How often a held chunk's lease and message visibility are extended: every third of the lease, at most once a second. */
export const keepAliveEveryMs = (leaseMs: number) => Math.max(1000, Math.floor(leaseMs / 3));

/** Extends the ledger lease and the message visibility every third of the lease while the chunk is worked on. */
export function startKeepAlive(
  deps: Pick<WorkQueueDeps, 'sqs' | 'workQueueUrl'> & { chunks: Pick<ChunkLedger, 'extend'>; clock: Clock; log: Log },
  lease: ChunkLease,
  receipt: string,
  leaseMs: number,
  logKeys: Record<string, unknown>,
): KeepAlive {
  let lost: Error | undefined;
  const extend = () => {
    Promise.all([deps.chunks.extend(lease, leaseMs), setVisibility(deps, receipt, Math.ceil(leaseMs / 1000))]).catch((err) => {
      if (err instanceof LeaseLostError) lost = err;
      else deps.log('warn', 'lease keep-alive failed', { ...logKeys, error: (err as Error).message });
    });
  };
  // Unreferenced: a chunk in flight never keeps a stopping process alive by itself.
  const stop = deps.clock.every(keepAliveEveryMs(leaseMs), extend, { unref: true });
  return {
    stop,
    assertHeld: () => {
      if (lost) throw lost;
    },
  };
}
