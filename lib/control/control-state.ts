import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ControlAction } from './control-actions';

/**
 * The pipeline's desired state, as the control state machine records it in the control table.
 * Agents and the chunker runner read it every second and obey: only RUNNING ingests new objects;
 * RUNNING and DRAINING lease queued chunks; an emergency stop also hands back every lease.
 */
export type DesiredState = 'RUNNING' | 'PAUSED' | 'DRAINING' | 'STOPPING' | 'STOPPED';

export { CONTROL_ACTIONS, type ControlAction } from './control-actions';

/** The desired state each action sets first (stop ends in STOPPED once drained). */
export const STATE_OF_ACTION: Record<ControlAction, DesiredState> = {
  pause: 'PAUSED',
  resume: 'RUNNING',
  drain: 'DRAINING',
  stop: 'STOPPING',
  'emergency-stop': 'STOPPED',
};

/** Items of the control table (the leader lease lives there too, under pk LEADER). */
export const CONTROL_PK = 'PIPELINE';
export const controlKeys = {
  state: { pk: CONTROL_PK, sk: 'STATE' },
  config: { pk: CONTROL_PK, sk: 'CONFIG' },
  /**
   * The leader's activity snapshot, in a partition of its own: IAM `dynamodb:LeadingKeys` sees only
   * partition keys, so the agent may write this item without being able to write STATE or CONFIG.
   */
  activity: { pk: 'PIPELINE#ACTIVITY', sk: 'ACTIVITY' },
  /** One item per control action: who, why, when. */
  historyPk: 'PIPELINE#HISTORY',
  /** One item per config version. */
  configHistoryPk: 'PIPELINE#CONFIG',
} as const;

export interface ControlState {
  desired: DesiredState;
  /** Grows by one with every action; nodes report the generation they obey. */
  generation: number;
  /** Set by emergency-stop: leases are handed back at once instead of finishing. */
  emergency: boolean;
  action?: ControlAction;
  reason?: string;
  /** Free text, as the caller typed it. */
  requestedBy?: string;
  /** The caller's IAM identity as the CLI resolved it (sts:GetCallerIdentity), apart from the free text; `not given` otherwise. */
  callerArn?: string;
  /** Where callerArn comes from; the authoritative caller is the StartExecution event of executionId in CloudTrail. */
  callerSource?: string;
  /** The role the control execution ran as. */
  executionRoleArn?: string;
  executionId?: string;
  updatedAt?: string;
}

/** Before any action the pipeline runs. */
export const INITIAL_CONTROL_STATE: ControlState = { desired: 'RUNNING', generation: 0, emergency: false };

/** Whether nodes may lease chunks that are already queued. */
export const leasingAllowed = (s: Pick<ControlState, 'desired'>) => s.desired === 'RUNNING' || s.desired === 'DRAINING' || s.desired === 'STOPPING';
/** Whether new objects are planned into chunks (the chunker's event source is on). */
export const ingestAllowed = (s: Pick<ControlState, 'desired'>) => s.desired === 'RUNNING';

/**
 * What the leader observes of the whole pipeline, every second, for the control state machine
 * to wait on (Step Functions cannot add up the nodes itself).
 */
export interface PipelineActivity {
  /** The control generation the leader had read when it took this snapshot. */
  observedGeneration: number;
  /** The lowest control generation that every healthy node reports obeying. */
  ackedGeneration: number;
  healthyNodes: number;
  /** Chunks being worked on (leases held) across healthy nodes. */
  inFlight: number;
  workQueueVisible: number;
  workQueueInFlight: number;
  ingestQueueVisible: number;
  ingestQueueInFlight: number;
  /** Nothing in flight and nothing queued for agents: drained. */
  quiescent: boolean;
  leasedChunks: number;
  /** No chunk is leased in the ledger. */
  noLeases: boolean;
  leader: string;
  updatedAt: number;
}

/** Reads and writes the control items. */
export class ControlTable {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly table: string,
  ) {}

  /** The state and the config document in one query (agents call this every second). */
  async read(): Promise<{ state: ControlState; config?: Record<string, unknown> }> {
    const out = await this.doc.send(new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': CONTROL_PK } }));
    const items = out.Items ?? [];
    const state = items.find((i) => i.sk === controlKeys.state.sk);
    const config = items.find((i) => i.sk === controlKeys.config.sk);
    return { state: toControlState(state), config };
  }

  async state(): Promise<ControlState> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: controlKeys.state, ConsistentRead: true }));
    return toControlState(out.Item);
  }

  async writeActivity(activity: PipelineActivity): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { ...controlKeys.activity, ...activity } }));
  }

  async activity(): Promise<PipelineActivity | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: controlKeys.activity, ConsistentRead: true }));
    return out.Item as PipelineActivity | undefined;
  }

  /** The latest control actions, newest first. */
  async history(limit = 20): Promise<Array<ControlState & { sk: string }>> {
    const out = await this.doc.send(
      new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': controlKeys.historyPk }, ScanIndexForward: false, Limit: limit }),
    );
    return (out.Items ?? []) as Array<ControlState & { sk: string }>;
  }
}

function toControlState(item: Record<string, unknown> | undefined): ControlState {
  if (!item) return INITIAL_CONTROL_STATE;
  return {
    desired: (item.desired as DesiredState) ?? 'RUNNING',
    generation: Number(item.generation ?? 0),
    emergency: item.emergency === true || item.emergency === 'true',
    action: item.action as ControlAction | undefined,
    reason: item.reason as string | undefined,
    requestedBy: item.requestedBy as string | undefined,
    callerArn: item.callerArn as string | undefined,
    callerSource: item.callerSource as string | undefined,
    executionRoleArn: item.executionRoleArn as string | undefined,
    executionId: item.executionId as string | undefined,
    updatedAt: item.updatedAt as string | undefined,
  };
}
