/**
 * Physical names for locally provisioned resources. CDK leaves names to CloudFormation, which
 * makes up random ones; locally they are derived from a prefix and the logical id instead, so
 * provisioning again finds the same bucket, queue and table (idempotent) and names are readable.
 * Too-long names are cut and end in a hash of the full name, so they stay unique.
 */
import { createHash } from 'node:crypto';

/** S3: 3–63 characters of [a-z0-9-], starting and ending with a letter or digit. */
export function bucketName(prefix: string, logicalId: string): string {
  const base = `${prefix}-${logicalId}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-');
  return fit(trimHyphens(base), 63, 3);
}

/** SQS: up to 80 characters of [A-Za-z0-9_-], plus `.fifo` for FIFO queues (within the 80). */
export function queueName(prefix: string, logicalId: string, fifo = false): string {
  const base = `${prefix}-${logicalId}`.toLowerCase().replace(/[^a-z0-9_-]+/g, '-');
  return fifo ? `${fit(base, 80 - '.fifo'.length, 1)}.fifo` : fit(base, 80, 1);
}

/** DynamoDB: 3–255 characters of [a-zA-Z0-9_.-]. */
export function tableName(prefix: string, logicalId: string): string {
  return fit(`${prefix}-${logicalId}`.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-'), 255, 3);
}

function fit(name: string, max: number, min: number): string {
  const padded = name.length >= min ? name : name.padEnd(min, '0');
  if (padded.length <= max) return padded;
  const hash = createHash('sha256').update(padded).digest('hex').slice(0, 8);
  return `${trimHyphens(padded.slice(0, max - hash.length - 1))}-${hash}`;
}

function trimHyphens(name: string): string {
  return name.replace(/^-+|-+$/g, '');
}

/** SNS: up to 256 characters of [A-Za-z0-9_-]. */
export function topicName(prefix: string, logicalId: string): string {
  return fit(`${prefix}-${logicalId}`.replace(/[^A-Za-z0-9_-]+/g, '-'), 256, 1);
}

/** Step Functions: up to 80 characters of [A-Za-z0-9_-]. */
export function stateMachineName(prefix: string, logicalId: string): string {
  return fit(`${prefix}-${logicalId}`.replace(/[^A-Za-z0-9_-]+/g, '-'), 80, 1);
}

/** CloudWatch Logs: up to 512 characters of [A-Za-z0-9_./#-]. */
export function logGroupName(prefix: string, logicalId: string): string {
  return fit(`/${prefix}/${logicalId}`.replace(/[^A-Za-z0-9_./#-]+/g, '-'), 512, 1);
}
