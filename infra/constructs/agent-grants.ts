import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { CHECKPOINTS_PREFIX } from '../../lib/checkpoint/layout';
import { controlKeys } from '../../lib/control/control-state';
import { STAGING_PREFIX } from '../../lib/storage/layout';

/**
 * Prefixes of the processed bucket under which the agent deletes objects: the outputs of chunk
 * attempts the ledger never committed (`shards/`, `rejects/`: lib/storage/layout.ts, deleted by
 * lib/agent/chunk-failure.ts and the leader's sweep in lib/ledger/manifest.ts), and checkpoint
 * steps its retention prunes (`checkpoints/`), and the staged windows of a split compressed
 * object once it completes (`staging/`, lib/windows). Current versions only: the bucket is versioned, so
 * a delete leaves a delete marker, and the lifecycle rules expire the noncurrent versions.
 */
export const AGENT_DELETE_PREFIXES = ['shards/', 'rejects/', CHECKPOINTS_PREFIX, STAGING_PREFIX] as const;

/**
 * Partition keys of the control table that the agent writes: the leader lease
 * (lib/cluster/leader-lease.ts), the leader's activity snapshot (lib/control/control-state.ts) and
 * the runs the leader settles (lib/ledger/run-ledger.ts). The desired state, config and their
 * histories are written by the control state machine alone.
 */
export const AGENT_CONTROL_PARTITIONS: readonly string[] = [...new Set(['LEADER', controlKeys.activity.pk, 'RUN'])];

/** Partition keys of the nodes table that the agent writes: node items (`NODE#<id>`, lib/cluster/registry.ts), its own and, as leader, the dead ones'. */
export const AGENT_NODE_PARTITIONS = ['NODE#*'] as const;

/** DynamoDB actions that change items (transactions are authorized per item, as these). */
export const DYNAMODB_WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'] as const;

/** What the agent task reads and writes. */
export interface AgentDataGrants {
  readonly ingestBucket: s3.IBucket;
  readonly processedBucket: s3.IBucket;
  readonly ledgerTable: dynamodb.ITable;
  readonly nodesTable: dynamodb.ITable;
  readonly controlTable: dynamodb.ITable;
}

/**
 * Grants the agent task role its data access, no more:
 * - the ingest bucket: read;
 * - the processed bucket: read, write (shards, rejects, manifests, run manifests, indexes,
 *   checkpoints), delete only under {@link AGENT_DELETE_PREFIXES}, and never an object version
 *   (an explicit deny, so no later grant can add it);
 * - the ledger: read and write (the agent owns its object, chunk, replica and checkpoint items);
 * - the nodes and control tables: read, and write only the partitions the agent owns
 *   (`dynamodb:LeadingKeys`): node items, and in the control table the leader lease, the activity
 *   snapshot and run settlement, never the desired state or config.
 */
export function grantAgentData(role: iam.IRole, d: AgentDataGrants): void {
  d.ingestBucket.grantRead(role);
  d.processedBucket.grantRead(role);
  role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'WriteProcessedObjects', actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: [d.processedBucket.arnForObjects('*')] }));
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ sid: 'DeleteAttemptOutputs', actions: ['s3:DeleteObject'], resources: AGENT_DELETE_PREFIXES.map((p) => d.processedBucket.arnForObjects(`${p}*`)) }),
  );
  role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'NeverDeleteVersions', effect: iam.Effect.DENY, actions: ['s3:DeleteObjectVersion'], resources: [d.processedBucket.arnForObjects('*')] }));

  d.ledgerTable.grantReadWriteData(role);
  d.nodesTable.grantReadData(role);
  d.controlTable.grantReadData(role);
  role.addToPrincipalPolicy(writeOwnPartitions('WriteOwnNodeItems', d.nodesTable, AGENT_NODE_PARTITIONS));
  role.addToPrincipalPolicy(writeOwnPartitions('WriteOwnControlItems', d.controlTable, AGENT_CONTROL_PARTITIONS));
}

/** Item writes on `table` whose partition keys are all among `partitions` (StringLike patterns). */
export function writeOwnPartitions(sid: string, table: dynamodb.ITable, partitions: readonly string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions: [...DYNAMODB_WRITE_ACTIONS],
    resources: [table.tableArn],
    conditions: {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...partitions] },
      // ForAllValues holds for a request without the key at all: require it.
      Null: { 'dynamodb:LeadingKeys': 'false' },
    },
  });
}
