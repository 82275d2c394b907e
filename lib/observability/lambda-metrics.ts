import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC_NAMESPACE, STAGE_DIMENSION } from './metric-names';
import { stageFromEnv } from './stage';

/**
 * The one place that sets up Lambda metrics (EMF through Powertools Metrics): namespace
 * `Shardline` and the `Stage` dimension alone. Powertools adds a `service` dimension by default;
 * it is dropped because the dashboard and alarms read every metric by {Stage} (see
 * `DIMENSION_SETS_READ`), and a metric with another dimension set is another series.
 */
export function createMetrics(serviceName: string, env: NodeJS.ProcessEnv = process.env): Metrics {
  const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName });
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions({ [STAGE_DIMENSION]: stageFromEnv(env) });
  return metrics;
}
