import { scanAll } from '../aws/dynamo-pages';
import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, UpdateCommand, type BatchGetCommandInput, type BatchGetCommandOutput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { conditionally, isConditionFailure } from '../aws/conditional-write';

export type NodeStatus = 'JOINING' | 'ACTIVE' | 'DRAINING' | 'DEAD';

/** What a node tells the cluster about itself when it joins. */
export interface NodeIdentity {
  nodeId: string;
  /** AZ, rack or placement group: replicas of a shard prefer distinct failure domains. */
  failureDomain: string;
  instanceType: string;
  gpus: number;
  cpus: number;
  memoryMiB: number;
  cacheDir: string;
  /** What the cache may hold: measured from its filesystem, less headroom, under any cap (placement's weight). */
  cacheCapacityBytes: number;
  labels?: Record<string, string>;
  /** The ECS task the agent runs in now (on ECS): a task-stopped event marks the node DEAD only while its record still names that task. */
  taskArn?: string;
  /** Where the host runs (absent locally). */
  region?: string;
  availabilityZone?: string;
  /** The EC2 instance id (also the node id on AWS). */
  instanceId?: string;
  /** GPU model and memory per GPU (from nvidia-smi, else the instance type's table entry). */
  gpuModel?: string;
  gpuMemoryMiB?: number;
  /** The instance type's network bandwidth, e.g. 'up to 10 Gbps', '100 Gbps', and its Gbps figure. */
  networkBandwidth?: string;
  networkGbps?: number;
}

/** The node's shard cache, carried by every heartbeat. */
export interface NodeCacheLoad {
  capacityBytes: number;
  usedBytes: number;
  /** Capacity not used yet. */
  freeBytes: number;
  /** What the cache's filesystem has left. */
  fsAvailableBytes: number;
  shards: number;
  /** Shards placement no longer assigns here, evicted first. */
  unassigned: number;
  /** Replicas refused for lack of room. */
  refused: number;
}

/** The node's current load, carried by every heartbeat, with what it obeys of the control plane. */
export interface NodeLoad {
  inFlight: number;
  chunksDone: number;
  concurrency: number;
  /** The control generation (and desired state) the node obeys. */
  controlGeneration?: number;
  desired?: string;
  /** The config version it runs, its node group, and why the newest version was refused, if it was. */
  configVersion?: number;
  configGroup?: string;
  configError?: string;
  /** The node's shard cache (capacity, use, free space). */
  cache?: NodeCacheLoad;
}

export interface NodeItem extends NodeIdentity {
  pk: string;
  sk: 'NODE';
  status: NodeStatus;
  lastHeartbeat: number;
  startedAt: string;
  load?: NodeLoad;
  /** TTL attribute: only cleans up long-gone nodes; it is not a failure detector. */
  expiresAt: number;
  /** Set by the failure detector. */
  deadAt?: number;
  detectedBy?: string;
  silentForMs?: number;
  recoveredAt?: number;
  recovery?: Record<string, number>;
  /** Why the node was asked to leave (Spot interruption, scale-in), and when: set by {@link NodeRegistry.markLeaving}. */
  drainReason?: string;
  drainRequestedAt?: number;
  /** Grows by one whenever someone has news for the node (see {@link NodeRegistry.nudge}); each heartbeat reads it back. */
  nudges?: number;
}

/** What a heartbeat reads back from the node's item. */
export interface HeartbeatEcho {
  /** The item's nudge count: when it grows, the node looks at its replicas and the control table at once. */
  nudges: number;
}

/** Told when a heartbeat finds its node marked DRAINING by someone else (a lifecycle Lambda, an operator). */
export type DrainRequested = (nodeId: string, reason: string) => void;

const nodeKey = (nodeId: string) => ({ pk: `NODE#${nodeId}`, sk: 'NODE' });
/**
 * The membership item: the ids of every registered node, so that membership is read by key
 * (one GetItem, then BatchGetItem of the node items) rather than by scanning the table. Its
 * partition key starts like a node's (`NODE#`), so the agent's write grant covers it.
 */
const MEMBERS_KEY = { pk: 'NODE#~members', sk: 'MEMBERS' };
/** Keys per BatchGetItem. */
const BATCH_GET_KEYS = 100;
const TTL_SECONDS = 7 * 24 * 3600;

/** The node registry in DynamoDB: join, heartbeat, leave, and who is healthy. */
export class NodeRegistry {
  private lastList?: { at: number; nodes: Promise<NodeItem[]> };
  private knownIds?: string[];

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly opts: { onDrainRequested?: DrainRequested } = {},
  ) {}

  /** Joins the cluster as JOINING; the first heartbeat makes the node ACTIVE. */
  async join(identity: NodeIdentity, now = Date.now()): Promise<void> {
    const item: NodeItem = {
      ...nodeKey(identity.nodeId),
      sk: 'NODE',
      ...identity,
      status: 'JOINING',
      lastHeartbeat: now,
      startedAt: new Date(now).toISOString(),
      expiresAt: Math.floor(now / 1000) + TTL_SECONDS,
    };
    await this.doc.send(new PutCommand({ TableName: this.table, Item: item }));
    // Listed after its item exists: whoever reads the members finds the item.
    await this.doc.send(new UpdateCommand({ TableName: this.table, Key: MEMBERS_KEY, UpdateExpression: 'ADD nodeIds :id', ExpressionAttributeValues: { ':id': new Set([identity.nodeId]) } }));
  }

  /**
   * Records a heartbeat with the node's load; a JOINING node becomes ACTIVE. A node that someone
   * else marked DRAINING (`markLeaving`, an operator) stays DRAINING: the heartbeat is recorded
   * without its status, and `onDrainRequested` is told, so the agent drains.
   */
  async heartbeat(nodeId: string, load: NodeLoad, draining = false, now = Date.now()): Promise<HeartbeatEcho> {
    // DynamoDB refuses unused expression values: each form names only those its condition uses.
    // The item's nudge count comes back with the write: news reaches the node without a read of its own.
    const update = async (status: NodeStatus | undefined, condition: string, values: Record<string, string>): Promise<HeartbeatEcho> => {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: nodeKey(nodeId),
          UpdateExpression: `SET lastHeartbeat = :now, #l = :load, expiresAt = :exp${status ? ', #s = :status' : ''}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#l': 'load', '#s': 'status' },
          ExpressionAttributeValues: { ':now': now, ':load': load, ':exp': Math.floor(now / 1000) + TTL_SECONDS, ...(status ? { ':status': status } : {}), ...values },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { nudges: Number((out.Attributes as NodeItem | undefined)?.nudges ?? 0) };
    };
    // A node declared DEAD must rejoin as a new incarnation; its heartbeat alone cannot revive it.
    if (draining) return update('DRAINING', 'attribute_exists(pk) AND #s <> :dead', { ':dead': 'DEAD' });
    try {
      return await update('ACTIVE', 'attribute_exists(pk) AND #s <> :dead AND #s <> :draining', { ':dead': 'DEAD', ':draining': 'DRAINING' });
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // Refused: DEAD, gone, or DRAINING by someone else's hand (rare: read the item to tell which).
      const item = (await this.doc.send(new GetCommand({ TableName: this.table, Key: nodeKey(nodeId), ConsistentRead: true }))).Item as NodeItem | undefined;
      if (item?.status !== 'DRAINING') throw err;
      const echo = await update(undefined, 'attribute_exists(pk) AND #s = :draining', { ':draining': 'DRAINING' });
      this.opts.onDrainRequested?.(nodeId, item.drainReason ?? 'marked DRAINING in the registry');
      return echo;
    }
  }

  /**
   * Tells nodes there is news for them (replicas assigned to them, a control change they have not
   * obeyed yet): their next heartbeat reads it back and they look at once, so idle nodes need not
   * poll their replicas or the control table often. One small write per node; gone or DEAD nodes are skipped.
   */
  async nudge(nodeIds: Iterable<string>): Promise<void> {
    await Promise.all(
      [...new Set(nodeIds)].map((nodeId) =>
        conditionally(
          this.doc.send(
            new UpdateCommand({
              TableName: this.table,
              Key: nodeKey(nodeId),
              UpdateExpression: 'ADD nudges :one',
              ConditionExpression: 'attribute_exists(pk) AND #s <> :dead',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':one': 1, ':dead': 'DEAD' },
            }),
          ),
        ),
      ),
    );
  }

  /**
   * Declares a node DEAD, unless it heartbeat since `seen` was read. Returns true if this call
   * made the change (so exactly one detector recovers each failure).
   */
  async markDead(node: NodeItem, detectedBy: string, now = Date.now()): Promise<boolean> {
    return conditionally(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: nodeKey(node.nodeId),
          UpdateExpression: 'SET #s = :dead, deadAt = :now, detectedBy = :by, silentForMs = :silent',
          ConditionExpression: 'lastHeartbeat = :seen AND #s <> :dead',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':dead': 'DEAD', ':now': now, ':by': detectedBy, ':silent': now - node.lastHeartbeat, ':seen': node.lastHeartbeat },
        }),
      ),
    );
  }

  /**
   * Declares a node DEAD because its platform says it stopped (an ECS task-stopped event),
   * without waiting for its heartbeat to age. The leader then hands back its work. Returns false
   * for an unknown or already dead node.
   */
  async markStopped(nodeId: string, reason: string, now = Date.now()): Promise<boolean> {
    return conditionally(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: nodeKey(nodeId),
          UpdateExpression: 'SET #s = :dead, deadAt = :now, detectedBy = :by, silentForMs = :now - lastHeartbeat',
          ConditionExpression: 'attribute_exists(pk) AND #s <> :dead',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':dead': 'DEAD', ':now': now, ':by': `task-stopped: ${reason}`.slice(0, 500) },
        }),
      ),
    );
  }

  /** Records that a dead node's work and replicas have been handed to others. */
  async markRecovered(nodeId: string, summary: Record<string, number>, now = Date.now()): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: nodeKey(nodeId),
        UpdateExpression: 'SET recoveredAt = :now, recovery = :summary',
        ConditionExpression: '#s = :dead',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':now': now, ':summary': summary, ':dead': 'DEAD' },
      }),
    );
  }

  /** Leaves the cluster cleanly: the node is gone from the registry. */
  async leave(nodeId: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: nodeKey(nodeId) }));
    await this.doc.send(new UpdateCommand({ TableName: this.table, Key: MEMBERS_KEY, UpdateExpression: 'DELETE nodeIds :id', ExpressionAttributeValues: { ':id': new Set([nodeId]) } }));
  }

  /**
   * Every registered node, read by key: the membership item, then the node items 100 to a
   * BatchGetItem (strongly consistent). A table whose membership item was never completed (nodes
   * registered before it existed) is scanned once, and its nodes added to the item.
   */
  async list(): Promise<NodeItem[]> {
    const nodes = this.readMembers().then((items) => items.sort((a, b) => a.nodeId.localeCompare(b.nodeId)));
    this.lastList = { at: Date.now(), nodes };
    nodes.catch(() => {
      if (this.lastList?.nodes === nodes) this.lastList = undefined;
    });
    return nodes;
  }

  private async readMembers(): Promise<NodeItem[]> {
    // The nodes last listed are read along with the membership item: one round trip while it is unchanged.
    const known = this.knownIds;
    const [members, prefetched] = await Promise.all([
      this.doc.send(new GetCommand({ TableName: this.table, Key: MEMBERS_KEY, ConsistentRead: true })).then((out) => out.Item as { nodeIds?: Set<string>; complete?: boolean } | undefined),
      known ? this.batchGetAll(known) : Promise.resolve([]),
    ]);
    if (!members?.complete) return this.migrate();
    const ids = [...(members.nodeIds ?? [])];
    this.knownIds = ids;
    const listed = new Set(ids);
    const knownSet = new Set(known ?? []);
    const joined = ids.filter((id) => !knownSet.has(id));
    // An id whose item is gone (a leave that ended half-way) is simply not found.
    return [...prefetched.filter((n) => listed.has(n.nodeId)), ...(joined.length > 0 ? await this.batchGetAll(joined) : [])];
  }

  private async batchGetAll(nodeIds: string[]): Promise<NodeItem[]> {
    const batches: Promise<NodeItem[]>[] = [];
    for (let i = 0; i < nodeIds.length; i += BATCH_GET_KEYS) batches.push(this.batchGet(nodeIds.slice(i, i + BATCH_GET_KEYS)));
    return (await Promise.all(batches)).flat();
  }

  private async batchGet(nodeIds: string[]): Promise<NodeItem[]> {
    const found: NodeItem[] = [];
    let request: BatchGetCommandInput['RequestItems'] | undefined = { [this.table]: { Keys: nodeIds.map(nodeKey), ConsistentRead: true } };
    while (request && Object.keys(request).length > 0) {
      const out: BatchGetCommandOutput = await this.doc.send(new BatchGetCommand({ RequestItems: request }));
      found.push(...((out.Responses?.[this.table] ?? []) as NodeItem[]));
      request = out.UnprocessedKeys;
    }
    return found;
  }

  /** The nodes of a table without a complete membership item, found by one scan and added to the item. */
  private async migrate(): Promise<NodeItem[]> {
    const nodes = (await scanAll<NodeItem>(this.doc, { TableName: this.table, ConsistentRead: true })).filter((i) => i.sk === 'NODE');
    const ids = nodes.map((n) => n.nodeId);
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: MEMBERS_KEY,
        UpdateExpression: ids.length > 0 ? 'SET complete = :true ADD nodeIds :ids' : 'SET complete = :true',
        ExpressionAttributeValues: { ':true': true, ...(ids.length > 0 ? { ':ids': new Set(ids) } : {}) },
      }),
    );
    return nodes;
  }

  /**
   * The node list as read at most `maxAgeMs` ago, shared by every reader of this registry (the
   * failure detector's read every 500 ms serves the leader's activity, gauges and placement):
   * for views and placement, never for failure detection.
   */
  async recent(maxAgeMs: number): Promise<NodeItem[]> {
    if (this.lastList && Date.now() - this.lastList.at <= maxAgeMs) return this.lastList.nodes;
    return this.list();
  }

  /** Nodes that may receive shards: ACTIVE and heartbeating within `timeoutMs` (from a list at most `maxAgeMs` old). */
  async healthy(timeoutMs: number, now = Date.now(), maxAgeMs = 0): Promise<NodeItem[]> {
    const nodes = maxAgeMs > 0 ? await this.recent(maxAgeMs) : await this.list();
    return nodes.filter((n) => n.status === 'ACTIVE' && now - n.lastHeartbeat <= timeoutMs);
  }

  /**
   * Asks a node to leave because its host is going away (a Spot interruption notice, an Auto
   * Scaling scale-in): status DRAINING with `drainReason` and `drainRequestedAt`, so the agent
   * on that host drains and hands off its replicas. Returns false for an unknown or DEAD node.
   */
  async markLeaving(nodeId: string, reason: string, now = Date.now()): Promise<boolean> {
    return conditionally(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: nodeKey(nodeId),
          UpdateExpression: 'SET #s = :draining, drainReason = :reason, drainRequestedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND #s <> :dead',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':draining': 'DRAINING', ':dead': 'DEAD', ':reason': reason.slice(0, 500), ':now': now },
        }),
      ),
    );
  }

  /**
   * Declares DEAD the node whose record still names `taskArn` (an ECS task-stopped event). A node
   * is a host: once a replacement task has rejoined, the record names the new task and the old
   * task's event changes nothing. Returns the node id it marked, or undefined. Reads the
   * registry once (task-stopped events are rare).
   */
  async markTaskStopped(taskArn: string, reason: string, now = Date.now()): Promise<string | undefined> {
    const node = (await this.list()).find((n) => n.taskArn === taskArn && n.status !== 'DEAD');
    if (!node) return undefined;
    const marked = await conditionally(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: nodeKey(node.nodeId),
          UpdateExpression: 'SET #s = :dead, deadAt = :now, detectedBy = :by, silentForMs = :now - lastHeartbeat',
          ConditionExpression: 'taskArn = :task AND #s <> :dead',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':dead': 'DEAD', ':now': now, ':task': taskArn, ':by': `task-stopped: ${reason}`.slice(0, 500) },
        }),
      ),
    );
    return marked ? node.nodeId : undefined;
  }
}
