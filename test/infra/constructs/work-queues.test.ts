import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { WorkQueues, queueWithDlq } from '../../../infra/constructs/work-queues';
import { bareStack, logicalIdOf, nagFindings } from './support';

const FOURTEEN_DAYS = 14 * 24 * 3600;
const stack = bareStack();
const queues = new WorkQueues(stack, 'WorkQueues', { visibilityTimeoutSeconds: 600, maxReceiveCount: 7 });
const template = Template.fromStack(stack);
const queueProps = (q: Parameters<typeof logicalIdOf>[0]) => template.toJSON().Resources[logicalIdOf(q)].Properties;

describe('WorkQueues', () => {
  it('creates the work queue and its dead-letter queue, each with a queue policy', () => {
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.resourceCountIs('AWS::SQS::QueuePolicy', 2);
  });

  it('dead-letters a chunk message after maxReceiveCount receives, invisible for the configured time', () => {
    expect(queueProps(queues.workQueue)).toMatchObject({
      VisibilityTimeout: 600,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalIdOf(queues.workDlq), 'Arn'] }, maxReceiveCount: 7 },
    });
  });

  it.each(['work queue', 'DLQ'])('encrypts the %s and keeps messages 14 days', (which) => {
    const queue = which === 'DLQ' ? queues.workDlq : queues.workQueue;
    expect(queueProps(queue)).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: FOURTEEN_DAYS });
  });

  it.each(['work queue', 'DLQ'])('denies non-TLS access to the %s', (which) => {
    const queue = which === 'DLQ' ? queues.workDlq : queues.workQueue;
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: logicalIdOf(queue) }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('passes the cdk-nag AwsSolutions checks with no acknowledgement', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('queueWithDlq', () => {
  it('names the DLQ after the queue and takes the visibility timeout and receive count it is given', () => {
    const s = bareStack();
    const { queue, deadLetterQueue } = queueWithDlq(s, 'Events', Duration.minutes(30), 5);
    expect(deadLetterQueue.node.id).toBe('EventsDlq');
    Template.fromStack(s).hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 1800,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalIdOf(deadLetterQueue), 'Arn'] }, maxReceiveCount: 5 },
    });
    expect(queue.node.id).toBe('Events');
  });
});
