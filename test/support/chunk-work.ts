import type { Message } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import type { ChunkWorkerDeps } from '../../lib/agent/chunk-worker';
import type { PipelineConfig } from '../../lib/config/pipeline-config';
import { ChunkLedger } from '../../lib/ledger/chunk-ledger';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import type { ProvisionedEndpoint } from './local-aws';

/** A chunk worker on the provisioned endpoint's clients, one node placing replicas on itself. */
export function localWorker(env: ProvisionedEndpoint, config: PipelineConfig, over: Partial<ChunkWorkerDeps> = {}): ChunkWorkerDeps {
  const { clients, resources } = env;
  const nodeId = over.nodeId ?? 'node-test';
  return {
    s3: clients.s3,
    sqs: clients.sqs,
    chunks: new ChunkLedger(clients.doc, resources.ledgerTable),
    objects: new ObjectLedger(clients.doc, resources.ledgerTable),
    workQueueUrl: resources.workQueueUrl,
    processedBucket: resources.processedBucket,
    nodeId,
    config,
    placementNodes: async () => [{ nodeId, failureDomain: 'a', capacity: 1 }],
    log: () => undefined,
    ...over,
  };
}

/** SQS messages as the event a Lambda's SQS event source delivers. */
export function sqsEventOf(messages: Message[]): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId as string,
      receiptHandle: m.ReceiptHandle as string,
      body: m.Body as string,
      attributes: {} as SQSEvent['Records'][number]['attributes'],
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn',
      awsRegion: 'us-east-1',
    })),
  };
}
