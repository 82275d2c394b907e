import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { conditionally, isConditionFailure } from '../../../lib/aws/conditional-write';

const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
const cancelled = (codes: string[]) => new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: codes.map((Code) => ({ Code })) });

describe('conditionally', () => {
  it('is true when the write is applied', async () => {
    await expect(conditionally(Promise.resolve({}))).resolves.toBe(true);
  });

  it('is false when the condition does not hold', async () => {
    await expect(conditionally(Promise.reject(conditionFailed()))).resolves.toBe(false);
  });

  it('throws any other error', async () => {
    await expect(conditionally(Promise.reject(new Error('ProvisionedThroughputExceeded')))).rejects.toThrow('ProvisionedThroughputExceeded');
  });
});

describe('isConditionFailure', () => {
  it('names the operation of a transaction whose condition failed', () => {
    const err = cancelled(['None', 'ConditionalCheckFailed']);
    expect(isConditionFailure(err)).toBe(true);
    expect(isConditionFailure(err, 1)).toBe(true);
    expect(isConditionFailure(err, 0)).toBe(false);
  });

  it('is false for a transaction cancelled for another reason', () => {
    expect(isConditionFailure(cancelled(['TransactionConflict']))).toBe(false);
    expect(isConditionFailure(new Error('boom'))).toBe(false);
  });
});
