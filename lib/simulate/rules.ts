/**
 * The scheduling rules that the ledger and the agent express as DynamoDB condition expressions or
 * inline checks, written once as pure functions for the simulator. Each names the code it
 * mirrors; a change there must change the rule here (test/unit/simulate/rules.test.ts pins them).
 */

/** A chunk's ledger item as the rules see it (lib/ledger/items.ts ChunkItem). */
export interface LedgerChunk {
  status: 'LEASED' | 'PROCESSED' | 'FAILED';
  leaseOwner: string;
  leaseExpiresAt: number;
  attempt: number;
}

/** A lease a worker holds (lib/ledger/chunk-ledger.ts ChunkLease). */
export interface HeldLease {
  owner: string;
  attempt: number;
}

export type LeaseDecision = { outcome: 'leased'; item: LedgerChunk } | { outcome: 'done' } | { outcome: 'busy'; leaseExpiresAt: number };

/**
 * `ChunkLedger.lease`: free (no item), expired, or FAILED may be leased, PROCESSED never
 * (`attribute_not_exists(pk) OR (#s = LEASED AND leaseExpiresAt < :now) OR #s = FAILED`).
 */
export function leaseChunk(item: LedgerChunk | undefined, owner: string, now: number, leaseMs: number): LeaseDecision {
  if (item === undefined || (item.status === 'LEASED' && item.leaseExpiresAt < now) || item.status === 'FAILED') {
    return { outcome: 'leased', item: { status: 'LEASED', leaseOwner: owner, leaseExpiresAt: now + leaseMs, attempt: (item?.attempt ?? 0) + 1 } };
  }
  if (item.status === 'PROCESSED') return { outcome: 'done' };
  return { outcome: 'busy', leaseExpiresAt: item.leaseExpiresAt };
}

/** Every conditional write on a held lease (extend, commit, release): `#s = LEASED AND leaseOwner = :owner AND attempt = :attempt`. */
export function holdsLease(item: LedgerChunk | undefined, lease: HeldLease): boolean {
  return item !== undefined && item.status === 'LEASED' && item.leaseOwner === lease.owner && item.attempt === lease.attempt;
}

/** `ChunkLedger.revoke`: the failed holder's lease is taken away; its late commit is refused (the owner no longer matches). */
export function revokeLease(item: LedgerChunk): LedgerChunk {
  return { ...item, leaseOwner: `revoked:${item.leaseOwner}`, leaseExpiresAt: 0 };
}

/** `detectFailures` (lib/cluster/failure-detector.ts): a node not DEAD whose heartbeat is older than the timeout is declared dead. */
export function isSilent(node: { status: string; lastHeartbeat: number }, now: number, timeoutMs: number): boolean {
  return now - node.lastHeartbeat > timeoutMs && node.status !== 'DEAD';
}

/** How soon a message whose chunk another node holds is looked at again, seconds (`lookAgainLater`, lib/agent/work-message.ts). */
export function busyRecheckSeconds(leaseExpiresAt: number, now: number): number {
  const BUSY_RECHECK_SECONDS = 5;
  return Math.min(Math.max(1, Math.ceil((leaseExpiresAt - now) / 1000) + 1), BUSY_RECHECK_SECONDS);
}

/** The leader lease (lib/cluster/leader-lease.ts): free when it has expired; its holder renews it. */
export function leaderLeaseFree(expiresAt: number, now: number): boolean {
  return expiresAt < now;
}
