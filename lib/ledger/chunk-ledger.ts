import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { queryAll } from '../aws/dynamo-pages';
import { GetCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ChunkMessage } from '../chunking/chunk';
import { keys, LEASES_BY_HOLDER_INDEX, SHORT, type ChunkItem, type OutputFile, type RecordCounts, type ReplicaItem } from './items';
import { conditionally, isConditionFailure } from '../aws/conditional-write';

/** Raised when a worker's lease was taken over: its late write is refused. */
export class LeaseLostError extends Error {
  constructor(chunkId: string, attempt: number) {
    super(`lease on chunk ${chunkId} (attempt ${attempt}) is no longer held`);
    this.name = 'LeaseLostError';
  }
}

/** A lease one worker holds on one chunk. */
export interface ChunkLease {
  objectId: string;
  index: number;
  chunkId: string;
  owner: string;
  attempt: number;
  /** Attempts that failed before this one (node deaths and hand-backs are not failures). */
  failures: number;
  /**
   * The chunk belongs to an object split into decompressed windows (its splitting chunk or one of
   * its windows): the object's chunk count grows while it is split, so a work message's
   * `chunkCount` cannot tell which commit is the last one, and the object item decides instead.
   */
  windowed?: boolean;
}

export type LeaseOutcome = { outcome: 'leased'; lease: ChunkLease } | { outcome: 'done' } | { outcome: 'busy'; leaseExpiresAt: number };

/** What a worker commits for a chunk it processed. */
export interface ChunkCommit {
  counts: RecordCounts;
  shard: OutputFile;
  rejects?: OutputFile;
  replicas: ReplicaItem[];
  /** R: a shard placed on fewer nodes is flagged for the leader's replica repair. */
  replicationFactor: number;
  durationMs: number;
  /** The object's chunk count (from the work message): lets the commit tell whether it was the object's last. */
  chunkCount?: number;
}

/** What a commit tells its caller. */
export interface CommitResult {
  /** Every chunk of the object is committed now: finalize it. Undefined when the commit could not tell (no `chunkCount`). */
  objectDone?: boolean;
}

/**
 * The chunk half of the ledger. A chunk item exists from its first lease on (an unleased chunk
 * is simply "planned"), and every transition is conditional on the lease, so a duplicate or late
 * worker can never overwrite a newer state.
 */
export class ChunkLedger {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Reads one chunk item (strongly consistent); undefined while the chunk was never leased. */
  async get(objectId: string, index: number): Promise<ChunkItem | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.chunk(objectId, index), ConsistentRead: true }));
    return out.Item as ChunkItem | undefined;
  }

  /** Takes the lease on a chunk unless it is done or another worker's lease is still valid. */
  async lease(msg: ChunkMessage, owner: string, receiptHandle: string, leaseMs: number, now = Date.now()): Promise<LeaseOutcome> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.chunk(msg.objectId, msg.index),
          UpdateExpression: 'SET #s = :leased, leaseOwner = :owner, leasedBy = :owner, leaseExpiresAt = :exp, receiptHandle = :rh, objectId = :oid, chunkId = :cid, #i = :idx ADD attempt :one',
          // Free, expired, or failed earlier (a redriven chunk) may be leased; PROCESSED never.
          ConditionExpression: 'attribute_not_exists(pk) OR (#s = :leased AND leaseExpiresAt < :now) OR #s = :failed',
          ExpressionAttributeNames: { '#s': 'status', '#i': 'index' },
          ExpressionAttributeValues: {
            ':leased': 'LEASED',
            ':failed': 'FAILED',
            ':owner': owner,
            ':exp': now + leaseMs,
            ':rh': receiptHandle,
            ':now': now,
            ':oid': msg.objectId,
            ':cid': msg.chunkId,
            ':idx': msg.index,
            ':one': 1,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const item = out.Attributes as ChunkItem;
      const windowed = msg.window !== undefined || msg.windowBytes !== undefined;
      return {
        outcome: 'leased',
        lease: { objectId: msg.objectId, index: msg.index, chunkId: msg.chunkId, owner, attempt: item.attempt, failures: item.failures ?? 0, ...(windowed ? { windowed } : {}) },
      };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const old: Record<string, unknown> = err.Item ?? {};
      if (plainValue(old.status) === 'PROCESSED') return { outcome: 'done' };
      return { outcome: 'busy', leaseExpiresAt: Number(plainValue(old.leaseExpiresAt) ?? now) };
    }
  }

  /** Extends a held lease (and records the newest receipt handle); throws LeaseLostError. */
  async extend(lease: ChunkLease, leaseMs: number, now = Date.now()): Promise<void> {
    await this.conditional(lease, 'SET leaseExpiresAt = :exp', { ':exp': now + leaseMs });
  }

  /** Records the last error of an attempt without giving the lease up. */
  async recordError(lease: ChunkLease, error: string): Promise<void> {
    await this.conditional(lease, 'SET lastError = :e ADD failures :one', { ':e': error.slice(0, 1000), ':one': 1 });
  }

  /** Gives a lease back so another worker may take the chunk at once. */
  async release(lease: ChunkLease): Promise<void> {
    await this.conditional(lease, 'SET leaseExpiresAt = :zero REMOVE leasedBy', { ':zero': 0 });
  }

  /**
   * Marks a chunk FAILED (it is about to dead-letter, and keeps its work message for a redrive)
   * and quarantines its object with the reason, so status shows it set aside instead of in
   * progress for ever, while every other object goes on. `newly` is true for the failure that
   * quarantined the object (one notice per object, not per chunk).
   */
  async quarantine(lease: ChunkLease, error: string, message: ChunkMessage, now = new Date()): Promise<{ newly: boolean; reason: string }> {
    const reason = `chunk ${lease.index}: ${error.slice(0, 1000)}`;
    const chunk = {
      Update: {
        TableName: this.table,
        Key: keys.chunk(lease.objectId, lease.index),
        UpdateExpression: 'SET #s = :failed, lastError = :e, message = :m REMOVE leasedBy',
        ConditionExpression: '#s = :leased AND leaseOwner = :owner AND attempt = :attempt',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':failed': 'FAILED', ':e': error.slice(0, 1000), ':m': JSON.stringify(message), ':leased': 'LEASED', ':owner': lease.owner, ':attempt': lease.attempt },
      },
    };
    const object = (first: boolean) => ({
      Update: {
        TableName: this.table,
        Key: keys.object(lease.objectId),
        UpdateExpression: `SET #s = :q, lastError = :e${first ? ', quarantineReason = :e, quarantinedAt = :at' : ''} ADD failedChunks :one`,
        ConditionExpression: first ? 'attribute_exists(pk) AND #s <> :q' : 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':q': 'QUARANTINED', ':e': reason, ':one': 1, ...(first ? { ':at': now.toISOString() } : {}) },
      },
    });
    for (const first of [true, false]) {
      try {
        await this.doc.send(new TransactWriteCommand({ TransactItems: [chunk, object(first)] }));
        return { newly: first, reason };
      } catch (err) {
        if (isConditionFailure(err, 0)) throw new LeaseLostError(lease.chunkId, lease.attempt);
        // Already quarantined by another of its chunks: count this one and keep the first reason.
        if (first && isConditionFailure(err, 1)) continue;
        throw err;
      }
    }
    throw new Error('unreachable');
  }

  /**
   * Clears a FAILED chunk's failure count before its message is sent again (a redrive), so its
   * new receives are judged on their own. False if the chunk is no longer FAILED.
   */
  async resetFailures(objectId: string, index: number): Promise<boolean> {
    return conditionally(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.chunk(objectId, index),
          UpdateExpression: 'SET failures = :zero',
          ConditionExpression: '#s = :failed',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':zero': 0, ':failed': 'FAILED' },
        }),
      ),
    );
  }

  /** Chunks currently leased by a node (the sparse by-holder index). */
  async leasesOf(nodeId: string): Promise<ChunkItem[]> {
    const items = await queryAll<ChunkItem>(this.doc, {
      TableName: this.table,
      IndexName: LEASES_BY_HOLDER_INDEX,
      KeyConditionExpression: 'leasedBy = :node',
      ExpressionAttributeValues: { ':node': nodeId },
    });
    return items.filter((i) => i.status === 'LEASED');
  }

  /**
   * Takes a lease away from a failed holder: the chunk becomes free at once, and the holder's
   * late commit is refused (the owner no longer matches). Returns false if the lease moved on.
   */
  async revoke(item: ChunkItem): Promise<boolean> {
    return conditionally(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: item.pk, sk: item.sk },
          UpdateExpression: 'SET leaseOwner = :revoked, leaseExpiresAt = :zero REMOVE leasedBy',
          ConditionExpression: '#s = :leased AND leaseOwner = :owner AND attempt = :attempt',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':revoked': `revoked:${item.leaseOwner}`, ':zero': 0, ':leased': 'LEASED', ':owner': item.leaseOwner, ':attempt': item.attempt },
        }),
      ),
    );
  }

  /**
   * Commits a processed chunk, its object's totals and its replica assignments in one
   * transaction, conditional on still holding the lease. Throws LeaseLostError otherwise.
   *
   * A transaction returns no values, so whether this was the object's last chunk is folded into its
   * condition instead of read afterwards: given `chunkCount`, the object's counters are added only
   * while other chunks are still to come (`chunksDone < chunkCount - 1`); the commit that finds
   * that condition false is the last one, and goes through again without it (one more request, once
   * per object; none for a one-chunk object, which is always its own last).
   */
  async commit(lease: ChunkLease, commit: ChunkCommit, now = new Date()): Promise<CommitResult> {
    // A split object's count grows while it is split: the object item alone says when it is done.
    const chunkCount = lease.windowed ? undefined : commit.chunkCount;
    const guarded = chunkCount !== undefined && chunkCount > 1;
    try {
      await this.doc.send(new TransactWriteCommand({ TransactItems: this.commitItems(lease, commit, now, guarded) }));
      return { objectDone: chunkCount === undefined ? undefined : !guarded };
    } catch (err) {
      if (isConditionFailure(err, 0)) throw new LeaseLostError(lease.chunkId, lease.attempt);
      if (!guarded || !isConditionFailure(err, 1)) throw err;
    }
    // The other chunks are all committed (or the object is gone, and this fails as before).
    try {
      await this.doc.send(new TransactWriteCommand({ TransactItems: this.commitItems(lease, commit, now, false) }));
      return { objectDone: true };
    } catch (err) {
      if (isConditionFailure(err, 0)) throw new LeaseLostError(lease.chunkId, lease.attempt);
      throw err;
    }
  }

  /**
   * Registers the decompressed windows of a split object (see `lib/windows`): its chunk count
   * becomes at least `chunkCount`, conditional on the splitting chunk's lease, before the window
   * `chunkCount - 1` is enqueued. The count only grows (a second attempt cuts the same windows and
   * registers the same counts), and while the splitting chunk is uncommitted the object cannot
   * reach it, so it completes only once every window is committed. Throws LeaseLostError.
   */
  async growChunkCount(lease: ChunkLease, chunkCount: number): Promise<void> {
    const held = {
      ConditionCheck: {
        TableName: this.table,
        Key: keys.chunk(lease.objectId, lease.index),
        ConditionExpression: '#s = :leased AND leaseOwner = :owner AND attempt = :attempt',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':leased': 'LEASED', ':owner': lease.owner, ':attempt': lease.attempt },
      },
    };
    const grow = {
      Update: {
        TableName: this.table,
        Key: keys.object(lease.objectId),
        UpdateExpression: 'SET chunkCount = :n',
        ConditionExpression: 'attribute_exists(pk) AND chunkCount < :n',
        ExpressionAttributeValues: { ':n': chunkCount },
      },
    };
    try {
      await this.doc.send(new TransactWriteCommand({ TransactItems: [held, grow] }));
    } catch (err) {
      if (isConditionFailure(err, 0)) throw new LeaseLostError(lease.chunkId, lease.attempt);
      // Already registered by an earlier attempt (or the object is gone, which its commit will tell).
      if (isConditionFailure(err, 1)) return;
      throw err;
    }
  }

  /** The commit transaction's items; `notLast`: the object update holds only while other chunks are still to come. */
  private commitItems(lease: ChunkLease, commit: ChunkCommit, now: Date, notLast: boolean) {
    const { counts } = commit;
    return [
      { Update: { TableName: this.table, Key: keys.chunk(lease.objectId, lease.index), ...committedChunkUpdate(lease, commit, now) } },
      {
        Update: {
          TableName: this.table,
          Key: keys.object(lease.objectId),
          UpdateExpression: 'SET lastCommitAt = :at ADD chunksDone :one, recordsIn :ri, recordsOut :ro, recordsRejected :rr, recordsFiltered :rf, bytesIn :bi',
          ConditionExpression: notLast ? 'attribute_exists(pk) AND chunksDone < :notLast' : 'attribute_exists(pk)',
          ExpressionAttributeValues: {
            ':at': now.getTime(),
            ':one': 1,
            ':ri': counts.recordsIn,
            ':ro': counts.recordsOut,
            ':rr': counts.recordsRejected,
            ':rf': counts.recordsFiltered,
            ':bi': counts.bytesIn,
            ...(notLast ? { ':notLast': (commit.chunkCount as number) - 1 } : {}),
          },
        },
      },
      ...commit.replicas.map((replica) => ({ Put: { TableName: this.table, Item: replica } })),
    ];
  }

  private async conditional(lease: ChunkLease, update: string, values: Record<string, unknown>): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.chunk(lease.objectId, lease.index),
          UpdateExpression: update,
          ConditionExpression: '#s = :leased AND leaseOwner = :owner AND attempt = :attempt',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ...values, ':leased': 'LEASED', ':owner': lease.owner, ':attempt': lease.attempt },
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new LeaseLostError(lease.chunkId, lease.attempt);
      throw err;
    }
  }
}

/** The chunk item's update on commit; every attribute goes through a name (several are reserved words). */
function committedChunkUpdate(lease: ChunkLease, commit: ChunkCommit, now: Date) {
  const { counts } = commit;
  const fields: Record<string, unknown> = {
    status: 'PROCESSED',
    shard: commit.shard,
    recordsIn: counts.recordsIn,
    recordsOut: counts.recordsOut,
    recordsRejected: counts.recordsRejected,
    recordsFiltered: counts.recordsFiltered,
    bytesIn: counts.bytesIn,
    replicas: commit.replicas.map((r) => r.nodeId),
    processedAt: now.toISOString(),
    durationMs: commit.durationMs,
    ...(commit.rejects ? { rejects: commit.rejects } : {}),
    ...(commit.replicas.length < commit.replicationFactor ? { shortOfReplicas: SHORT } : {}),
  };
  const remove = ['receiptHandle', 'lastError', 'leasedBy', ...(fields.shortOfReplicas ? [] : ['shortOfReplicas'])];
  const names = Object.fromEntries(Object.keys(fields).map((f) => [`#${f}`, f]));
  const values = Object.fromEntries(Object.entries(fields).map(([f, v]) => [`:${f}`, v]));
  return {
    UpdateExpression: `SET ${Object.keys(fields)
      .map((f) => `#${f} = :${f}`)
      .join(', ')} REMOVE ${remove.join(', ')}`,
    ConditionExpression: '#status = :leased AND leaseOwner = :owner AND attempt = :attempt',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: { ...values, ':leased': 'LEASED', ':owner': lease.owner, ':attempt': lease.attempt },
  };
}

/** An attribute of the item returned on a failed condition: marshalled (`{ S: … }`, `{ N: … }`) or already plain. */
function plainValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const attribute = value as { S?: unknown; N?: unknown };
  return attribute.S ?? attribute.N;
}
