import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';

/**
 * True when a DynamoDB write was refused because its condition did not hold: a
 * `ConditionalCheckFailedException`, or a transaction cancelled for a failed condition (on its
 * `item`-th operation when given, on any otherwise).
 */
export function isConditionFailure(err: unknown, item?: number): boolean {
  if (err instanceof ConditionalCheckFailedException) return true;
  if (!(err instanceof TransactionCanceledException) && (err as Error | undefined)?.name !== 'TransactionCanceledException') return false;
  const reasons = (err as TransactionCanceledException).CancellationReasons ?? [];
  return item === undefined ? reasons.some((r) => r?.Code === 'ConditionalCheckFailed') : reasons[item]?.Code === 'ConditionalCheckFailed';
}

/**
 * Runs a conditional write: true when it was applied, false when its condition did not hold (a
 * newer state won, which is how every ledger transition stays safe); any other error is thrown.
 */
export async function conditionally(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}
