/**
 * The task-stopped Lambda's handler, built from its dependencies. EventBridge delivers the agent
 * service's ECS "Task State Change" events with lastStatus STOPPED; the node whose registry record
 * still names that task is declared DEAD at once, and the leader hands its work back on its next
 * sweep (well before its heartbeat would age out). A node is a host, not a task: when the agent
 * restarted (a deploy, a crash) and its new task already rejoined, the record names the new task
 * and nothing is marked. `task-stopped.ts` wires it from the environment on Lambda; tests call the
 * factory.
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
  readonly registry: Pick<NodeRegistry, 'markTaskStopped'>;
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
    const nodeId = await registry.markTaskStopped(taskArn, `${stopCode ?? ''} ${stoppedReason ?? ''}`.trim());
    if (nodeId) metrics.addMetric(TaskStoppedMetric.nodesMarkedDead, MetricUnit.Count, 1);
    logger.info(nodeId ? 'node declared dead from task-stopped event' : 'task-stopped event for a task no live node runs (replaced, left or dead)', { nodeId, taskArn, stopCode });
    return nodeId ? { marked: true, nodeId } : { marked: false };
  }).use(logMetrics(metrics));
}
