/**
 * The host-leaving Lambda's handler, built from its dependencies. EventBridge delivers the EC2
 * "Spot Instance Interruption Warning" (two minutes' notice) and the Auto Scaling "EC2
 * Instance-terminate Lifecycle Action" of the GPU hosts' termination hook; the node whose id is
 * that EC2 instance id is asked to leave (DRAINING, with the reason), so the agent on the host
 * drains and hands off its replicas before the host goes. `host-leaving.ts` wires it from the
 * environment on Lambda; tests call the factory.
 */
import middy from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import type { NodeRegistry } from '../lib/cluster/registry';
import { HostLeavingMetric } from '../lib/observability/metric-names';

export const SPOT_INTERRUPTION = 'EC2 Spot Instance Interruption Warning';
export const TERMINATE_LIFECYCLE_ACTION = 'EC2 Instance-terminate Lifecycle Action';

export interface SpotInterruptionWarning {
  'instance-id'?: string;
  'instance-action'?: string;
}

export interface TerminateLifecycleAction {
  EC2InstanceId?: string;
  AutoScalingGroupName?: string;
  LifecycleHookName?: string;
  LifecycleTransition?: string;
  LifecycleActionToken?: string;
}

export type HostLeavingEvent = EventBridgeEvent<typeof SPOT_INTERRUPTION, SpotInterruptionWarning> | EventBridgeEvent<typeof TERMINATE_LIFECYCLE_ACTION, TerminateLifecycleAction>;

export interface HostLeavingHandlerDeps {
  readonly registry: Pick<NodeRegistry, 'markLeaving'>;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** The instance that is leaving and why, from either notice; throws on anything else. */
export function leavingNotice(event: HostLeavingEvent): { instanceId: string; reason: string } {
  if (event['detail-type'] === SPOT_INTERRUPTION) {
    const detail = event.detail as SpotInterruptionWarning;
    if (!detail?.['instance-id']) throw new Error(`malformed Spot interruption warning: no instance-id (event ${event.id})`);
    return { instanceId: detail['instance-id'], reason: `spot interruption: ${detail['instance-action'] ?? 'terminate'} notice at ${event.time}` };
  }
  if (event['detail-type'] === TERMINATE_LIFECYCLE_ACTION) {
    const detail = event.detail as TerminateLifecycleAction;
    if (!detail?.EC2InstanceId) throw new Error(`malformed lifecycle action: no EC2InstanceId (event ${event.id})`);
    return {
      instanceId: detail.EC2InstanceId,
      reason: `scale-in: ${detail.AutoScalingGroupName ?? 'Auto Scaling'} terminates the host (lifecycle hook ${detail.LifecycleHookName ?? '?'}) at ${event.time}`,
    };
  }
  const other = event as { 'detail-type'?: string; id?: string };
  throw new Error(`unexpected event '${other['detail-type']}' (event ${other.id})`);
}

/** The handler over the given dependencies. A malformed event is reported (thrown) so EventBridge retries and it is seen. */
export function createHostLeavingHandler({ registry, logger, metrics }: HostLeavingHandlerDeps) {
  return middy(async (event: HostLeavingEvent) => {
    metrics.addMetric(HostLeavingMetric.nodesMarkedLeaving, MetricUnit.Count, 0); // a steady series, and never an empty flush
    const { instanceId, reason } = leavingNotice(event);
    // A node is its host: its id is the EC2 instance id (see lib/cluster/node-identity.ts).
    const marked = await registry.markLeaving(instanceId, reason);
    if (marked) metrics.addMetric(HostLeavingMetric.nodesMarkedLeaving, MetricUnit.Count, 1);
    logger.info(marked ? 'node asked to leave: its host is going away' : 'host-leaving notice for an unknown or dead node', { nodeId: instanceId, reason });
    return { marked, nodeId: instanceId, reason };
  }).use(logMetrics(metrics));
}
