import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { conditionally } from '../aws/conditional-write';
import { keys } from '../ledger/items';

/** Marks objects the chunker cannot process (their format or compression) FAILED, with the reason. */
export interface ObjectRefusals {
  /** From PLANNING (after `beginPlan` of an empty plan) to FAILED with `lastError`; false when another planner got there first. */
  refuse(objectId: string, reason: string): Promise<boolean>;
}

/** {@link ObjectRefusals} over the ledger table: one conditional update of the object item. */
export function ledgerRefusals(doc: DynamoDBDocumentClient, ledgerTable: string): ObjectRefusals {
  return {
    refuse: (objectId, reason) =>
      conditionally(
        doc.send(
          new UpdateCommand({
            TableName: ledgerTable,
            Key: keys.object(objectId),
            UpdateExpression: 'SET #s = :failed, lastError = :e',
            ConditionExpression: '#s = :planning',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':failed': 'FAILED', ':planning': 'PLANNING', ':e': reason.slice(0, 1000) },
          }),
        ),
      ),
  };
}
