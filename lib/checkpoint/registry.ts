import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { conditionally, isConditionFailure } from '../aws/conditional-write';
import { queryAll } from '../aws/dynamo-pages';
import { readyToCommit, registrationFor, type StepState, type StepView } from './commit-rule';
import { registryKeys } from './layout';
import type { DurableManifest, RetentionSpec, SpoolManifest } from './manifest';

/** A step of a job: its attempt, world size, and the ranks whose part of that attempt is durable. */
export interface StepItem {
  pk: string;
  sk: string;
  job: string;
  step: number;
  state: StepState;
  worldSize: number;
  attempt: number;
  ranks: Set<number>;
  /** When the first part became durable, epoch ms. */
  createdAt: number;
  updatedAt: number;
  completedAt?: number;
  committedBy?: string;
  retention?: RetentionSpec;
}

/** One rank's part of a step: PENDING while its agent uploads it, DURABLE once every file is in S3. */
export interface PartItem {
  pk: string;
  sk: string;
  job: string;
  step: number;
  rank: number;
  worldSize: number;
  attempt: number;
  saveId: string;
  state: 'PENDING' | 'DURABLE';
  node: string;
  bytes: number;
  savedAt: string;
  startedAt: number;
  durableAt?: number;
  files?: Array<{ name: string; key: string; bytes: number; sha256: string }>;
  manifestKey?: string;
  manifestSha256?: string;
}

/** Exists only for a COMPLETE step (written by its commit, deleted first when it is pruned). */
export interface CompleteItem {
  pk: string;
  sk: string;
  job: string;
  step: number;
  attempt: number;
  worldSize: number;
  completedAt: number;
  committedBy: string;
}

export type RegisterOutcome = { outcome: 'registered' | 'already'; complete: boolean } | { outcome: 'refused'; reason: string };
export type CommitOutcome = 'committed' | 'complete' | 'not-ready';

/** Where a durable part's manifest is, and its sha256 (readers check the manifest against it). */
export interface DurableRef {
  manifestKey: string;
  manifestSha256: string;
}

const stepView = (item: StepItem): StepView => ({ state: item.state, worldSize: item.worldSize, attempt: item.attempt, ranks: [...(item.ranks ?? [])] });

/**
 * The checkpoint registry in the ledger table. Every transition is conditional: a part registers
 * DURABLE together with its rank joining the step (one transaction), and the step commits COMPLETE
 * only while every rank of its attempt is durable — so `latest()` never sees a partial step, and
 * agents racing to register the last ranks commit it exactly once.
 */
export class CheckpointRegistry {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Records that `node` started uploading a part (for operators); never replaces a durable part. */
  async markPending(m: SpoolManifest, node: string, now: number): Promise<boolean> {
    const bytes = m.files.reduce((n, f) => n + f.bytes, 0);
    const item: PartItem = {
      ...registryKeys.part(m.job, m.step, m.rank),
      job: m.job,
      step: m.step,
      rank: m.rank,
      worldSize: m.worldSize,
      attempt: m.attempt,
      saveId: m.saveId,
      state: 'PENDING',
      node,
      bytes,
      savedAt: m.savedAt,
      startedAt: now,
    };
    return conditionally(
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk) OR (#state = :pending AND attempt <= :attempt)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':pending': 'PENDING', ':attempt': m.attempt },
        }),
      ),
    );
  }

  /**
   * Registers a durable part: its item DURABLE and its rank among the step's durable ranks, in one
   * transaction conditional on what was read (a lost race re-reads and decides again).
   */
  async register(d: DurableManifest, ref: DurableRef, now: number, retention?: RetentionSpec): Promise<RegisterOutcome> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const [step, current] = await Promise.all([this.step(d.job, d.step), this.part(d.job, d.step, d.rank)]);
      const decision = registrationFor(step && stepView(step), d, current?.state === 'DURABLE' ? current : undefined);
      if (decision.action === 'refuse') return { outcome: 'refused', reason: decision.reason };
      if (decision.action === 'already') return { outcome: 'already', complete: decision.complete };
      const part: PartItem = {
        ...registryKeys.part(d.job, d.step, d.rank),
        job: d.job,
        step: d.step,
        rank: d.rank,
        worldSize: d.worldSize,
        attempt: d.attempt,
        saveId: d.saveId,
        state: 'DURABLE',
        node: d.node,
        bytes: d.bytes,
        savedAt: d.savedAt,
        startedAt: current?.saveId === d.saveId ? current.startedAt : now,
        durableAt: now,
        files: d.files.map((f) => ({ name: f.name, key: f.key, bytes: f.bytes, sha256: f.sha256 })),
        ...ref,
      };
      const putPart = {
        Put: {
          TableName: this.table,
          Item: part,
          ConditionExpression: 'attribute_not_exists(pk) OR attempt <= :attempt',
          ExpressionAttributeValues: { ':attempt': d.attempt },
        },
      };
      const stepUpdate =
        decision.action === 'add'
          ? {
              UpdateExpression:
                'SET job = :job, step = :step, worldSize = if_not_exists(worldSize, :w), attempt = if_not_exists(attempt, :attempt), #state = if_not_exists(#state, :pending), ' +
                'createdAt = if_not_exists(createdAt, :now), updatedAt = :now' +
                (retention ? ', retention = if_not_exists(retention, :retention)' : '') +
                ' ADD ranks :rank',
              ConditionExpression: 'attribute_not_exists(pk) OR (#state = :pending AND attempt = :attempt AND worldSize = :w)',
            }
          : {
              // A newer attempt starts the step over: only its own ranks count from now on.
              UpdateExpression: 'SET worldSize = :w, attempt = :attempt, ranks = :rank, updatedAt = :now' + (retention ? ', retention = :retention' : ''),
              ConditionExpression: '#state = :pending AND attempt = :old',
            };
      const values: Record<string, unknown> = { ':w': d.worldSize, ':attempt': d.attempt, ':pending': 'PENDING', ':now': now, ':rank': new Set([d.rank]) };
      if (decision.action === 'add') Object.assign(values, { ':job': d.job, ':step': d.step });
      else values[':old'] = decision.from;
      if (retention) values[':retention'] = retention;
      try {
        await this.doc.send(
          new TransactWriteCommand({
            TransactItems: [
              putPart,
              { Update: { TableName: this.table, Key: registryKeys.step(d.job, d.step), ...stepUpdate, ExpressionAttributeNames: { '#state': 'state' }, ExpressionAttributeValues: values } },
            ],
          }),
        );
        return { outcome: 'registered', complete: false };
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    }
    throw new Error(`registering part ${d.job}/${d.step}/rank ${d.rank}: the step kept changing`);
  }

  /**
   * Commits the step COMPLETE if every rank of its attempt is durable: the step item and the
   * COMPLETE item in one transaction, conditional on the step still being PENDING with all ranks.
   */
  async commit(job: string, stepNo: number, by: string, now: number): Promise<CommitOutcome> {
    const step = await this.step(job, stepNo);
    if (!step) return 'not-ready';
    if (step.state === 'COMPLETE') return 'complete';
    if (!readyToCommit(stepView(step))) return 'not-ready';
    const complete: CompleteItem = { ...registryKeys.complete(job, stepNo), job, step: stepNo, attempt: step.attempt, worldSize: step.worldSize, completedAt: now, committedBy: by };
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.table,
                Key: registryKeys.step(job, stepNo),
                UpdateExpression: 'SET #state = :complete, completedAt = :now, committedBy = :by, updatedAt = :now',
                ConditionExpression: '#state = :pending AND attempt = :attempt AND worldSize = :w AND size(ranks) = :w',
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: { ':complete': 'COMPLETE', ':pending': 'PENDING', ':now': now, ':by': by, ':attempt': step.attempt, ':w': step.worldSize },
              },
            },
            { Put: { TableName: this.table, Item: complete, ConditionExpression: 'attribute_not_exists(pk)' } },
          ],
        }),
      );
      return 'committed';
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return (await this.step(job, stepNo))?.state === 'COMPLETE' ? 'complete' : 'not-ready';
    }
  }

  /** The newest complete step of a job (one query), or undefined. */
  async latest(job: string): Promise<CompleteItem | undefined> {
    const items = await this.query<CompleteItem>(job, registryKeys.completePrefix, { limit: 1, newestFirst: true });
    return items[0];
  }

  /** Every complete step of a job, newest first. */
  async completeSteps(job: string): Promise<CompleteItem[]> {
    return this.query<CompleteItem>(job, registryKeys.completePrefix, { newestFirst: true });
  }

  /** Every step item of a job (any state), oldest first. */
  async steps(job: string): Promise<StepItem[]> {
    return this.query<StepItem>(job, registryKeys.stepPrefix);
  }

  async step(job: string, step: number): Promise<StepItem | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: registryKeys.step(job, step), ConsistentRead: true }));
    return out.Item as StepItem | undefined;
  }

  async part(job: string, step: number, rank: number): Promise<PartItem | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: registryKeys.part(job, step, rank), ConsistentRead: true }));
    return out.Item as PartItem | undefined;
  }

  /** Every rank's part item of a step, by rank. */
  async parts(job: string, step: number): Promise<PartItem[]> {
    return this.query<PartItem>(job, registryKeys.partsOf(step));
  }

  /**
   * Starts pruning a step: PRUNING, and its COMPLETE item gone (so no reader picks it from now on),
   * conditional on a newer step being COMPLETE at that moment. False when that does not hold.
   */
  async beginPrune(job: string, step: number, newerComplete: number, now: number): Promise<boolean> {
    if (newerComplete <= step) return false;
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.table,
                Key: registryKeys.step(job, newerComplete),
                ConditionExpression: '#state = :complete',
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: { ':complete': 'COMPLETE' },
              },
            },
            {
              Update: {
                TableName: this.table,
                Key: registryKeys.step(job, step),
                UpdateExpression: 'SET #state = :pruning, updatedAt = :now',
                ConditionExpression: 'attribute_exists(pk)',
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: { ':pruning': 'PRUNING', ':now': now },
              },
            },
            { Delete: { TableName: this.table, Key: registryKeys.complete(job, step) } },
          ],
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** Ends pruning a step whose objects are deleted: its part items, then the step item (while PRUNING). */
  async finishPrune(job: string, step: number): Promise<void> {
    for (const part of await this.parts(job, step)) {
      // Only the save that was read: a part written since (a late agent) is left for the next prune.
      await conditionally(
        this.doc.send(new DeleteCommand({ TableName: this.table, Key: { pk: part.pk, sk: part.sk }, ConditionExpression: 'saveId = :saveId', ExpressionAttributeValues: { ':saveId': part.saveId } })),
      );
    }
    await conditionally(
      this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: registryKeys.step(job, step),
          ConditionExpression: '#state = :pruning',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':pruning': 'PRUNING' },
        }),
      ),
    );
  }

  /** Parts being uploaded now (PENDING), in every step of a job: one query, filtered (an operator's view, not a hot path). */
  async pendingParts(job: string): Promise<PartItem[]> {
    return queryAll<PartItem>(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      FilterExpression: '#state = :pending',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':pk': registryKeys.pk(job), ':prefix': 'PART#', ':pending': 'PENDING' },
    });
  }

  private async query<T>(job: string, prefix: string, opts: { limit?: number; newestFirst?: boolean } = {}): Promise<T[]> {
    const input = {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': registryKeys.pk(job), ':prefix': prefix },
      ConsistentRead: true,
      ScanIndexForward: !opts.newestFirst,
      ...(opts.limit ? { Limit: opts.limit } : {}),
    };
    if (opts.limit) {
      const out = await this.doc.send(new QueryCommand(input));
      return (out.Items ?? []) as T[];
    }
    return queryAll<T>(this.doc, input);
  }
}
