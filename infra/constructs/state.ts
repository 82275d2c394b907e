import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { LEASES_BY_HOLDER_INDEX, SHORT_OF_REPLICAS_INDEX, UNFINISHED_OBJECTS_INDEX } from '../../lib/ledger/items';

export interface StateProps {
  /** Keep the tables when the stack is deleted. */
  readonly retainData: boolean;
}

/**
 * DynamoDB state: the ledger (objects, chunks, replica assignments), the node registry and the
 * control table. Keys are a generic `pk`/`sk` because items of several kinds share a table; the
 * code picks high-cardinality partition keys (one per object, one per node).
 */
export class State extends Construct {
  public readonly ledgerTable: dynamodb.Table;
  public readonly nodesTable: dynamodb.Table;
  public readonly controlTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StateProps) {
    super(scope, id);
    const table = (name: string, ttl?: string) =>
      new dynamodb.Table(this, name, {
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        ...(ttl ? { timeToLiveAttribute: ttl } : {}),
      });
    this.ledgerTable = table('Ledger');
    // Sparse index of live leases (only LEASED chunks carry `leasedBy`): the failure detector
    // finds a dead node's chunks with one query.
    this.ledgerTable.addGlobalSecondaryIndex({
      indexName: LEASES_BY_HOLDER_INDEX,
      partitionKey: { name: 'leasedBy', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    });
    // Sparse index of shards placed on fewer than R nodes (too few healthy nodes at commit):
    // the leader tops them up as nodes join.
    this.ledgerTable.addGlobalSecondaryIndex({
      indexName: SHORT_OF_REPLICAS_INDEX,
      partitionKey: { name: 'shortOfReplicas', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    });
    // Sparse index of objects not yet COMPLETE: the leader finalizes any whose chunks are all
    // done but whose last committer died (or failed) before finalizing.
    this.ledgerTable.addGlobalSecondaryIndex({
      indexName: UNFINISHED_OBJECTS_INDEX,
      partitionKey: { name: 'unfinished', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: ['objectId', 'status', 'chunkCount', 'chunksDone', 'lastCommitAt'],
    });
    // TTL only tidies long-gone nodes; failure detection is by heartbeat age, never by TTL.
    this.nodesTable = table('Nodes', 'expiresAt');
    this.controlTable = table('Control');
  }
}
