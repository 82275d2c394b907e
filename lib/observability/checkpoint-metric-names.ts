/** The agent's checkpoint metrics in CloudWatch (namespace `Shardline`, dimension `Stage` alone, like every agent metric). */
export const CheckpointMetric = {
  /** Bytes of checkpoint parts S3 acknowledged, summed per second: the upload rate. */
  bytesUploaded: 'CheckpointBytesUploaded',
  /** Per part: from the end of `save()` to the part registered DURABLE. */
  timeToDurableMs: 'CheckpointTimeToDurableMs',
  /** Per part: the upload, checks and registration alone. */
  uploadMs: 'CheckpointUploadMs',
  partsDurable: 'CheckpointPartsDurable',
  /** Parts the agent gave up on (their local copy changed after `save()`, or the registry refused them): their step cannot complete. */
  partsFailed: 'CheckpointPartsFailed',
  /** Gauge, every second from each agent with a spool: how long its oldest handed-off part has not been durable (0: none). */
  oldestPendingSeconds: 'CheckpointOldestPendingSeconds',
  /** Gauge: parts handed off and not yet durable on the agent. */
  partsPending: 'CheckpointPartsPending',
} as const;
