import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';

/** A Lambda handler that consumes SQS batches with partial batch responses. */
export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface LambdaSqsRunnerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  functionName: string;
  handler: SqsBatchHandler;
  batchSize?: number;
  /** Like the mapping's `Enabled` flag, read before every poll (the control plane pauses ingest). */
  enabled?: () => boolean;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/**
 * Runs a Lambda handler in-process on its real SQS event source, as Lambda's event source
 * mapping would: receive a batch, invoke, delete what succeeded, leave the reported failures to
 * reappear after the visibility timeout (and dead-letter after maxReceiveCount). Local emulators
 * cannot run Lambda code without Docker, and moto's own mapping silently deletes messages.
 */
export class LambdaSqsRunner {
  private running = false;
  private loop?: Promise<void>;
  /** Batches handled so far (for status and tests). */
  invocations = 0;

  constructor(private readonly opts: LambdaSqsRunnerOptions) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.opts.enabled && !this.opts.enabled()) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      try {
        const out = await this.opts.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.opts.queueUrl,
            MaxNumberOfMessages: this.opts.batchSize ?? 10,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
          }),
        );
        if (out.Messages?.length) await this.invoke(out.Messages);
      } catch (err) {
        this.opts.log?.('lambda runner error', { functionName: this.opts.functionName, error: (err as Error).message });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async invoke(messages: Message[]): Promise<void> {
    const event: SQSEvent = {
      Records: messages.map((m) => ({
        messageId: m.MessageId as string,
        receiptHandle: m.ReceiptHandle as string,
        body: m.Body ?? '',
        attributes: (m.Attributes ?? {}) as SQSEvent['Records'][number]['attributes'],
        messageAttributes: {},
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: this.opts.queueArn,
        awsRegion: this.opts.region,
      })),
    };
    this.invocations++;
    let failed: Set<string>;
    try {
      const response = await this.opts.handler(event, this.context());
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (err) {
      // A thrown handler fails the whole batch, as in Lambda.
      this.opts.log?.('handler threw; whole batch will retry', { error: (err as Error).message });
      failed = new Set(messages.map((m) => m.MessageId as string));
    }
    const done = messages.filter((m) => !failed.has(m.MessageId as string));
    if (done.length === 0) return;
    await this.opts.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: this.opts.queueUrl,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
      }),
    );
  }

  private context(): Context {
    const deadline = Date.now() + 15 * 60 * 1000;
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName: this.opts.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${this.opts.region}:000000000000:function:${this.opts.functionName}`,
      memoryLimitInMB: '1024',
      awsRequestId: `local-${Date.now()}-${this.invocations}`,
      logGroupName: `/aws/lambda/${this.opts.functionName}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => deadline - Date.now(),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }
}
