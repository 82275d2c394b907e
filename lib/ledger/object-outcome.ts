import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Log } from '../log';
import { RESOURCES } from '../resources';

/** How an object version left the pipeline: COMPLETE with its manifest, or QUARANTINED with the reason. */
export type ObjectOutcome =
  | { outcome: 'complete'; objectId: string; bucket: string; key: string; manifestKey: string }
  | { outcome: 'quarantined'; objectId: string; bucket: string; key: string; chunk: number; reason: string; at: string };

/**
 * Told once per object when it completes or is quarantined (the write that did it, not its
 * duplicates): the object failure-rate metrics and the quarantine notice. Must not throw.
 */
export type OnObjectOutcome = (outcome: ObjectOutcome) => void | Promise<void>;

/** The notice an operator gets when an object is quarantined (SNS subject and JSON message). */
export function quarantineNotice(q: Extract<ObjectOutcome, { outcome: 'quarantined' }>): { subject: string; message: string } {
  return {
    // SNS subjects: at most 100 printable ASCII characters, no line breaks.
    subject: 'shardline: object quarantined',
    message: JSON.stringify({
      notice: 'object-quarantined',
      objectId: q.objectId,
      source: { bucket: q.bucket, key: q.key },
      chunk: q.chunk,
      reason: q.reason,
      quarantinedAt: q.at,
      next: `the rest of the pipeline runs on; after a fix: shardline redrive --object ${q.objectId}`,
    }),
  };
}

export interface ObjectOutcomeHookOptions {
  /** Counts each outcome (the ObjectsCompleted / ObjectsQuarantined metrics). */
  record?: (outcome: ObjectOutcome) => void;
  /** Where quarantine notices go; absent: none are sent (they are still logged). */
  notices?: { sns: Pick<SNSClient, 'send'>; topicArn: string };
  log: Log;
}

/** The agent's hook: counts every outcome and publishes a notice for each quarantined object. */
export function objectOutcomeHook(opts: ObjectOutcomeHookOptions): OnObjectOutcome {
  return async (outcome) => {
    opts.record?.(outcome);
    if (outcome.outcome !== 'quarantined' || !opts.notices) return;
    const { subject, message } = quarantineNotice(outcome);
    try {
      await opts.notices.sns.send(new PublishCommand({ TopicArn: opts.notices.topicArn, Subject: subject, Message: message }));
    } catch (err) {
      // The quarantine stands in the ledger and the logs whatever happens to the notice.
      opts.log('warn', 'quarantine notice not published', { objectId: outcome.objectId, bucket: outcome.bucket, key: outcome.key, error: (err as Error).message });
    }
  };
}

/** Where quarantine notices go: the run notices topic named in the environment, if any. */
export function noticesFromEnv(sns: Pick<SNSClient, 'send'>, env: NodeJS.ProcessEnv = process.env): ObjectOutcomeHookOptions['notices'] {
  const topicArn = env[RESOURCES.runNoticesTopicArn.envVar];
  return topicArn ? { sns, topicArn } : undefined;
}
