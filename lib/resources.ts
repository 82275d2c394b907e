/**
 * The AWS resources every part of shardline talks to, named once.
 *
 * The CDK stack exports each one as a stack output (`outputName`) and hands it to the chunker
 * Lambda and the agent containers as an environment variable (`envVar`). Local mode reads the
 * same outputs from the synthesized template after provisioning, so there is no second list.
 */
export const RESOURCES = {
  ingestBucket: { envVar: 'SHARDLINE_INGEST_BUCKET', outputName: 'IngestBucketName' },
  processedBucket: { envVar: 'SHARDLINE_PROCESSED_BUCKET', outputName: 'ProcessedBucketName' },
  ingestEventsQueueUrl: { envVar: 'SHARDLINE_INGEST_EVENTS_QUEUE_URL', outputName: 'IngestEventsQueueUrl' },
  ingestEventsDlqUrl: { envVar: 'SHARDLINE_INGEST_EVENTS_DLQ_URL', outputName: 'IngestEventsDlqUrl' },
  workQueueUrl: { envVar: 'SHARDLINE_WORK_QUEUE_URL', outputName: 'WorkQueueUrl' },
  workDlqUrl: { envVar: 'SHARDLINE_WORK_DLQ_URL', outputName: 'WorkDlqUrl' },
  ledgerTable: { envVar: 'SHARDLINE_LEDGER_TABLE', outputName: 'LedgerTableName' },
  nodesTable: { envVar: 'SHARDLINE_NODES_TABLE', outputName: 'NodesTableName' },
  controlTable: { envVar: 'SHARDLINE_CONTROL_TABLE', outputName: 'ControlTableName' },
  controlStateMachineArn: { envVar: 'SHARDLINE_CONTROL_STATE_MACHINE_ARN', outputName: 'ControlStateMachineArn' },
  runStateMachineArn: { envVar: 'SHARDLINE_RUN_STATE_MACHINE_ARN', outputName: 'RunStateMachineArn' },
  runNoticesTopicArn: { envVar: 'SHARDLINE_RUN_NOTICES_TOPIC_ARN', outputName: 'RunNoticesTopicArn' },
  operatorTopicArn: { envVar: 'SHARDLINE_OPERATOR_TOPIC_ARN', outputName: 'OperatorTopicArn' },
  agentLogGroup: { envVar: 'SHARDLINE_AGENT_LOG_GROUP', outputName: 'AgentLogGroupName' },
  chunkerLogGroup: { envVar: 'SHARDLINE_CHUNKER_LOG_GROUP', outputName: 'ChunkerLogGroupName' },
} as const;

export type ResourceKey = keyof typeof RESOURCES;
/** Physical names / URLs of every shardline resource. */
export type ResourceNames = Record<ResourceKey, string>;

/** Reads the resource names from environment variables; throws naming every missing one. */
export function resourcesFromEnv(env: NodeJS.ProcessEnv = process.env, keys: ResourceKey[] = Object.keys(RESOURCES) as ResourceKey[]): ResourceNames {
  const missing = keys.filter((k) => !env[RESOURCES[k].envVar]).map((k) => RESOURCES[k].envVar);
  if (missing.length > 0) throw new Error(`missing environment variables: ${missing.join(', ')}`);
  return Object.fromEntries(keys.map((k) => [k, env[RESOURCES[k].envVar] as string])) as ResourceNames;
}

/** The environment variables that carry `names` (for child processes and task definitions). */
export function resourcesToEnv(names: Partial<ResourceNames>): Record<string, string> {
  return Object.fromEntries((Object.entries(names) as [ResourceKey, string][]).map(([k, v]) => [RESOURCES[k].envVar, v]));
}

/** Picks the resource names out of CloudFormation stack outputs (keyed by output name). */
export function resourcesFromOutputs(outputs: Record<string, string>): ResourceNames {
  const missing = Object.values(RESOURCES)
    .filter((r) => !outputs[r.outputName])
    .map((r) => r.outputName);
  if (missing.length > 0) throw new Error(`stack outputs missing: ${missing.join(', ')}`);
  return Object.fromEntries((Object.entries(RESOURCES) as [ResourceKey, { outputName: string }][]).map(([k, r]) => [k, outputs[r.outputName]])) as ResourceNames;
}
