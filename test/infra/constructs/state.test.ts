import { Template } from 'aws-cdk-lib/assertions';
import { State } from '../../../infra/constructs/state';
import { LEASES_BY_HOLDER_INDEX, SHORT_OF_REPLICAS_INDEX, UNFINISHED_OBJECTS_INDEX } from '../../../lib/ledger/items';
import { bareStack, logicalIdOf, nagFindings } from './support';

const stack = bareStack();
const state = new State(stack, 'State', { retainData: true });
const template = Template.fromStack(stack);
const tableProps = (t: Parameters<typeof logicalIdOf>[0]) => template.toJSON().Resources[logicalIdOf(t)].Properties;
const tables = { ledger: state.ledgerTable, nodes: state.nodesTable, control: state.controlTable };

describe('State', () => {
  it('creates the ledger, nodes and control tables and nothing else', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 3);
    expect(Object.keys(template.toJSON().Resources)).toHaveLength(3);
  });

  it.each(Object.keys(tables) as (keyof typeof tables)[])('keys the %s table by pk/sk, on demand, encrypted, with point-in-time recovery', (name) => {
    expect(tableProps(tables[name])).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('indexes the ledger by lease holder, replica shortfall and unfinished objects', () => {
    const indexes = tableProps(state.ledgerTable).GlobalSecondaryIndexes as { IndexName: string; KeySchema: { AttributeName: string }[]; Projection: Record<string, unknown> }[];
    expect(indexes.map((i) => [i.IndexName, i.KeySchema.map((k) => k.AttributeName)])).toEqual([
      [LEASES_BY_HOLDER_INDEX, ['leasedBy', 'sk']],
      [SHORT_OF_REPLICAS_INDEX, ['shortOfReplicas', 'pk']],
      [UNFINISHED_OBJECTS_INDEX, ['unfinished', 'pk']],
    ]);
    // The leader reads an unfinished object's progress from the index alone.
    expect(indexes[2].Projection).toEqual({ ProjectionType: 'INCLUDE', NonKeyAttributes: ['objectId', 'status', 'chunkCount', 'chunksDone', 'lastCommitAt'] });
  });

  it("expires old node items by TTL and no other table's", () => {
    expect(tableProps(state.nodesTable).TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(tableProps(state.ledgerTable).TimeToLiveSpecification).toBeUndefined();
    expect(tableProps(state.controlTable).TimeToLiveSpecification).toBeUndefined();
  });

  it('retains the tables when retainData is set, and deletes them when it is off', () => {
    for (const t of Object.values(template.findResources('AWS::DynamoDB::Table'))) expect(t.DeletionPolicy).toBe('Retain');
    const other = bareStack();
    new State(other, 'State', { retainData: false });
    for (const t of Object.values(Template.fromStack(other).findResources('AWS::DynamoDB::Table'))) expect(t.DeletionPolicy).toBe('Delete');
  });

  it('passes the cdk-nag AwsSolutions checks with no acknowledgement', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});
