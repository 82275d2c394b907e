/**
 * The task-stopped Lambda's handler, built from its dependencies. EventBridge delivers ECS "Task
 * State Change" events with lastStatus STOPPED; the agent that ran in that task is declared DEAD at
 * once, and the leader hands its work back on its next sweep (well before its heartbeat would age
 * out). `task-stopped.ts` wires it from the environment on Lambda; tests call the factory.
 */
import middy from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import type { NodeRegistry } from '../lib/cluster/registry';
import { TaskStoppedMetric } from '../lib/observability/metric-names';

export interface TaskStateChange {
  taskArn?: string;
  lastStatus?: string;
  stoppedReason?: string;
  stopCode?: string;
}

export interface TaskStoppedHandlerDeps {
  readonly registry: Pick<NodeRegistry, 'markStopped'>;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** The handler over the given dependencies. A malformed event is reported (thrown) so EventBridge retries and it is seen. */
export function createTaskStoppedHandler({ registry, logger, metrics }: TaskStoppedHandlerDeps) {
  return middy(async (event: EventBridgeEvent<'ECS Task State Change', TaskStateChange>) => {
    const { taskArn, lastStatus, stoppedReason, stopCode } = event.detail ?? {};
    metrics.addMetric(TaskStoppedMetric.nodesMarkedDead, MetricUnit.Count, 0); // a steady series, and never an empty flush
    if (!taskArn) throw new Error(`malformed ECS task state change: no taskArn (event ${event.id})`);
    if (lastStatus !== 'STOPPED') return { marked: false, reason: `lastStatus ${lastStatus}` };
    // The agent's node id on ECS is its task id (see lib/cluster/node-identity.ts).
    const nodeId = taskArn.split('/').pop() as string;
    const marked = await registry.markStopped(nodeId, `${stopCode ?? ''} ${stoppedReason ?? ''}`.trim());
    if (marked) metrics.addMetric(TaskStoppedMetric.nodesMarkedDead, MetricUnit.Count, 1);
    logger.info(marked ? 'node declared dead from task-stopped event' : 'task-stopped event for an unknown or dead node', { nodeId, stopCode });
    return { marked, nodeId };
  }).use(logMetrics(metrics));
}
