import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { isConditionFailure } from '../aws/conditional-write';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const LEASE_KEY = { pk: 'LEADER', sk: 'LEASE' };

/** The leader lease as stored in the control table. */
export interface LeaderLeaseItem {
  holder: string;
  expiresAt: number;
  /** Fencing token: grows by one at every change of leader. */
  token: number;
  acquiredAt: number;
  /** The follower the holder names to take over first: it alone watches the lease's expiry closely. */
  deputy?: string;
}

/** How often a follower that is not the deputy tries the lease (the deputy tries at each expiry). */
export const FOLLOWER_RETRY_MS = 30_000;

/**
 * One leader at a time, as in the DynamoDB lock client: a conditional write with an expiry that
 * the holder renews, and a fencing token that increases with every new leader so that a stale
 * leader's decisions can be told apart.
 */
export class LeaderLease {
  private token?: number;
  private retryAfter?: number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly nodeId: string,
    private readonly leaseMs: number,
    /** Names the deputy at every renewal (the leader's choice of a healthy follower); absent: every follower watches the expiry. */
    private readonly opts: { deputy?: () => string | undefined } = {},
  ) {}

  /** The fencing token while this node leads, else undefined. */
  get currentToken(): number | undefined {
    return this.token;
  }

  /**
   * When this follower should try the lease next, from its last refused attempt: at the holder's
   * expiry if it is the deputy (or none is named), else `FOLLOWER_RETRY_MS` later (and never
   * before the expiry): trying sooner is bound to fail, so followers do not ask every tick, and
   * all but one ask twice a minute. Undefined while leading or before a first attempt.
   */
  get otherHolderUntil(): number | undefined {
    return this.retryAfter;
  }

  /**
   * Renews the lease if this node holds it, or takes it if it is free or expired.
   * Returns true while this node is the leader.
   */
  async tryAcquire(now = Date.now()): Promise<boolean> {
    try {
      if (this.token !== undefined) {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: LEASE_KEY,
            ...this.renewal(now),
            ConditionExpression: 'holder = :me AND #t = :token',
          }),
        );
        return true;
      }
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: LEASE_KEY,
          UpdateExpression: 'SET holder = :me, expiresAt = :exp, acquiredAt = :now REMOVE deputy ADD #t :one',
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeNames: { '#t': 'token' },
          ExpressionAttributeValues: { ':me': this.nodeId, ':exp': now + this.leaseMs, ':now': now, ':one': 1 },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      this.token = (out.Attributes as LeaderLeaseItem).token;
      this.retryAfter = undefined;
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      this.token = undefined;
      const held = err instanceof ConditionalCheckFailedException ? err.Item : undefined;
      const expiresAt = Number(plainValue(held?.expiresAt));
      const deputy = plainValue(held?.deputy);
      if (!Number.isFinite(expiresAt)) this.retryAfter = undefined;
      else this.retryAfter = deputy === undefined || deputy === this.nodeId ? expiresAt : Math.max(expiresAt, now + FOLLOWER_RETRY_MS);
      return false;
    }
  }

  /** The renewal's update: a new expiry, and the deputy the holder names now. */
  private renewal(now: number) {
    const deputy = this.opts.deputy?.();
    return {
      UpdateExpression: deputy ? 'SET expiresAt = :exp, deputy = :deputy' : 'SET expiresAt = :exp REMOVE deputy',
      ExpressionAttributeNames: { '#t': 'token' },
      ExpressionAttributeValues: { ':exp': now + this.leaseMs, ':me': this.nodeId, ':token': this.token, ...(deputy ? { ':deputy': deputy } : {}) },
    };
  }

  /** Gives the lease up (clean shutdown), so another node takes over at once. */
  async release(): Promise<void> {
    if (this.token === undefined) return;
    const token = this.token;
    this.token = undefined;
    await this.doc
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: LEASE_KEY,
          UpdateExpression: 'SET expiresAt = :zero',
          ConditionExpression: 'holder = :me AND #t = :token',
          ExpressionAttributeNames: { '#t': 'token' },
          ExpressionAttributeValues: { ':zero': 0, ':me': this.nodeId, ':token': token },
        }),
      )
      .catch((err) => {
        if (!isConditionFailure(err)) throw err;
      });
  }

  /** Reads the current lease (for status and tests). */
  static async read(doc: DynamoDBDocumentClient, table: string): Promise<LeaderLeaseItem | undefined> {
    const out = await doc.send(new GetCommand({ TableName: table, Key: LEASE_KEY, ConsistentRead: true }));
    return out.Item as LeaderLeaseItem | undefined;
  }
}

/** An attribute of the item returned on a failed condition: marshalled (`{ S: … }`, `{ N: … }`) or plain. */
function plainValue(value: unknown): unknown {
  return value !== null && typeof value === 'object' ? ((value as { S?: unknown; N?: unknown }).S ?? (value as { N?: unknown }).N) : value;
}
