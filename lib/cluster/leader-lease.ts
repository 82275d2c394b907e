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
}

/**
 * One leader at a time, as in the DynamoDB lock client: a conditional write with an expiry that
 * the holder renews, and a fencing token that increases with every new leader so that a stale
 * leader's decisions can be told apart.
 */
export class LeaderLease {
  private token?: number;
  private otherUntil?: number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly nodeId: string,
    private readonly leaseMs: number,
  ) {}

  /** The fencing token while this node leads, else undefined. */
  get currentToken(): number | undefined {
    return this.token;
  }

  /**
   * Until when another node holds the lease, as this node's last refused attempt read it: trying
   * again before then is bound to fail, so a follower waits for it instead of asking every tick.
   */
  get otherHolderUntil(): number | undefined {
    return this.otherUntil;
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
            UpdateExpression: 'SET expiresAt = :exp',
            ConditionExpression: 'holder = :me AND #t = :token',
            ExpressionAttributeNames: { '#t': 'token' },
            ExpressionAttributeValues: { ':exp': now + this.leaseMs, ':me': this.nodeId, ':token': this.token },
          }),
        );
        return true;
      }
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: LEASE_KEY,
          UpdateExpression: 'SET holder = :me, expiresAt = :exp, acquiredAt = :now ADD #t :one',
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeNames: { '#t': 'token' },
          ExpressionAttributeValues: { ':me': this.nodeId, ':exp': now + this.leaseMs, ':now': now, ':one': 1 },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      this.token = (out.Attributes as LeaderLeaseItem).token;
      this.otherUntil = undefined;
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      this.token = undefined;
      const held = err instanceof ConditionalCheckFailedException ? Number(plainNumber(err.Item?.expiresAt)) : NaN;
      this.otherUntil = Number.isFinite(held) ? held : undefined;
      return false;
    }
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

/** A number attribute of the item returned on a failed condition: marshalled (`{ N: '…' }`) or plain. */
function plainNumber(value: unknown): unknown {
  return value !== null && typeof value === 'object' ? (value as { N?: unknown }).N : value;
}
