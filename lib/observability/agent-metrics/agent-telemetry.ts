import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AgentDeps } from '../../agent/agent';
import { CloudWatchPublisher } from './cloudwatch-publisher';
import { LeaderGaugeSampler } from './leader-gauges';
import { startMetricsEndpoint, type MetricsEndpoint } from './prometheus-server';
import { AgentMetrics } from './recorder';
import type { Log } from '../../log';

export interface AgentTelemetryOptions {
  stage: string;
  nodeId: string;
  /** Where to publish; absent: no CloudWatch publishing (Prometheus only). */
  cloudwatch?: Pick<CloudWatchClient, 'send'>;
  /** Port of the Prometheus endpoint: 0 picks a free one, absent: no endpoint. */
  metricsPort?: number;
  /** @default '0.0.0.0' */
  metricsHost?: string;
  /** What the leader samples: the ledger's short-of-replicas index and the registry's healthy nodes. */
  leader: { doc: DynamoDBDocumentClient; ledgerTable: string; healthyNodes: () => Promise<number> };
  log: Log;
  /** @default 1000 */
  publishIntervalMs?: number;
  /** How often the taken datapoints are sent (`CloudWatchPublisherDeps.flushEveryMs`). @default 20 s */
  flushEveryMs?: number;
  /** Export Node's process metrics to Prometheus. @default true */
  processMetrics?: boolean;
}

/** How long `stop()` waits for the last publish. */
const STOP_FLUSH_TIMEOUT_MS = 3000;

/** The agent's metrics, running: hand `hooks` to the Agent, and `stop()` at drain. */
export interface AgentTelemetry {
  metrics: AgentMetrics;
  publisher?: CloudWatchPublisher;
  endpoint?: MetricsEndpoint;
  /** The Agent's metric hooks (spread into `AgentDeps`). */
  hooks: Required<Pick<AgentDeps, 'onChunk' | 'onLeaderSweep' | 'onReplicaPulled'>>;
  /** Sends what is left and closes the endpoint. */
  stop(): Promise<void>;
}

/**
 * Starts the agent's metrics: the recorder, the CloudWatch publisher (1 s datapoints sent every 20 s) and the
 * Prometheus endpoint, and logs `metrics endpoint listening` with the actual port. The caller
 * adds `countThrottles` to its clients and `setInFlightSource` once the agent exists.
 */
export async function startAgentTelemetry(opts: AgentTelemetryOptions): Promise<AgentTelemetry> {
  const metrics = new AgentMetrics({ stage: opts.stage, nodeId: opts.nodeId, processMetrics: opts.processMetrics ?? true });
  const sampler = new LeaderGaugeSampler({ ...opts.leader, log: opts.log }, (values) => metrics.setLeaderGauges(values));
  const publisher = opts.cloudwatch
    ? new CloudWatchPublisher({ cloudwatch: opts.cloudwatch, take: (t) => metrics.takeCloudWatchData(t), log: opts.log, intervalMs: opts.publishIntervalMs, flushEveryMs: opts.flushEveryMs })
    : undefined;
  publisher?.start();
  let endpoint: MetricsEndpoint | undefined;
  if (opts.metricsPort !== undefined) {
    endpoint = await startMetricsEndpoint({
      port: opts.metricsPort,
      host: opts.metricsHost,
      render: () => metrics.prometheusText(),
      contentType: metrics.registry.contentType,
    });
    opts.log('info', 'metrics endpoint listening', { port: endpoint.port, url: endpoint.url, requestedPort: opts.metricsPort });
  }
  return {
    metrics,
    publisher,
    endpoint,
    hooks: {
      onChunk: (report) => metrics.recordChunk(report),
      onLeaderSweep: ({ token }) => {
        metrics.recordLeaderSweep(token);
        sampler.sweep();
      },
      onReplicaPulled: () => metrics.recordReplicaPulled(),
    },
    stop: async () => {
      // The last second's data is worth a short wait, not a stuck shutdown (CloudWatch unreachable).
      await Promise.race([publisher?.stop(), new Promise((r) => setTimeout(r, STOP_FLUSH_TIMEOUT_MS).unref())]);
      await endpoint?.close();
    },
  };
}
