import { ListMetricsCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { AgentMetric, ChunkerMetric, ERROR_KIND_DIMENSION, METRIC_NAMESPACE, SERVICE_DIMENSION, STAGE_DIMENSION } from '../../observability/metric-names';
import { getMetricData, type Series } from '../metric-data';
import { EMPTY_METRICS, type LatencyStat, type MetricEvidence, type StageLatencies } from './evidence';

/** Which metrics, of which stage, over which time. */
export interface MetricWindow {
  /** Value of the `Stage` dimension. */
  stage: string;
  start: Date;
  end: Date;
  /** Name of the work queue, for AWS/SQS ApproximateAgeOfOldestMessage (absent on emulators). */
  workQueueName?: string;
}

type Dimensions = Array<{ Name: string; Value: string }>;

/** Data points are read per minute: CloudWatch keeps 1-minute data for 15 days. */
const PERIOD_SECONDS = 60;

const LATENCIES: Array<[keyof StageLatencies, string]> = [
  ['queueWait', AgentMetric.queueWaitMs],
  ['download', AgentMetric.downloadMs],
  ['process', AgentMetric.processMs],
  ['upload', AgentMetric.uploadMs],
  ['commit', AgentMetric.commitMs],
  ['total', AgentMetric.totalMs],
];

const COUNTERS = {
  bytes: AgentMetric.bytesProcessed,
  records: AgentMetric.recordsProcessed,
  chunks: AgentMetric.chunksProcessed,
  errors: AgentMetric.chunkErrors,
  pulled: AgentMetric.replicasPulled,
  leaders: AgentMetric.leaderChanges,
  objectsPlanned: ChunkerMetric.objectsPlanned,
  chunksPlanned: ChunkerMetric.chunksPlanned,
  bytesPlanned: ChunkerMetric.bytesPlanned,
} as const;

/**
 * Reads the catalog's metrics for one stage over a window with GetMetricData (plain MetricStat
 * queries: no metric math, which emulators do not evaluate) and aggregates them. Means are
 * Σsum / Σcount, so they weigh every chunk equally whatever the period. Percentiles are asked
 * for in a second request because an emulator that does not compute them fails the whole
 * request; without them, `percentiles` is false and only means are given. `percentilesClient`
 * may try once only, so that such an endpoint costs one refusal.
 */
export async function readPipelineMetrics(cw: CloudWatchClient, window: MetricWindow, percentilesClient: CloudWatchClient = cw): Promise<MetricEvidence> {
  const stageDims: Dimensions = [{ Name: STAGE_DIMENSION, Value: window.stage }];
  const errorKinds = await listErrorKinds(cw, window.stage);
  const queries: MetricDataQuery[] = [];
  const add = (id: string, metricName: string, stat: string, dims: Dimensions = stageDims, namespace = METRIC_NAMESPACE, period = PERIOD_SECONDS) =>
    queries.push({ Id: id, MetricStat: { Metric: { Namespace: namespace, MetricName: metricName, Dimensions: dims }, Period: period, Stat: stat }, ReturnData: true });

  for (const [key, name] of LATENCIES) {
    add(`${key}_sum`, name, 'Sum');
    add(`${key}_n`, name, 'SampleCount');
    add(`${key}_max`, name, 'Maximum');
  }
  for (const [key, name] of Object.entries(COUNTERS)) add(`${key}_sum`, name, 'Sum');
  errorKinds.forEach((kind, i) => add(`kind${i}_sum`, AgentMetric.chunkErrors, 'Sum', [...stageDims, { Name: ERROR_KIND_DIMENSION, Value: kind }]));
  add('s3throttle_sum', AgentMetric.throttles, 'Sum', [...stageDims, { Name: SERVICE_DIMENSION, Value: 'S3' }]);
  add('ddbthrottle_sum', AgentMetric.throttles, 'Sum', [...stageDims, { Name: SERVICE_DIMENSION, Value: 'DynamoDB' }]);
  add('inflight_sum', AgentMetric.chunksInFlight, 'Sum');
  add('inflight_n', AgentMetric.chunksInFlight, 'SampleCount');
  add('healthy_min', AgentMetric.healthyNodes, 'Minimum');
  add('healthy_max', AgentMetric.healthyNodes, 'Maximum');
  add('healthy_avg', AgentMetric.healthyNodes, 'Average');
  add('below_max', AgentMetric.shardsBelowReplication, 'Maximum');
  if (window.workQueueName) add('oldest_max', 'ApproximateAgeOfOldestMessage', 'Maximum', [{ Name: 'QueueName', Value: window.workQueueName }], 'AWS/SQS');

  const series = await getMetricData(cw, queries, window);
  const percentiles = await readPercentiles(percentilesClient, stageDims, window);
  return aggregateMetrics(series, errorKinds, percentiles, (window.end.getTime() - window.start.getTime()) / 1000);
}

/** Folds the per-minute series into the window's figures (pure; exported for tests). */
export function aggregateMetrics(series: Map<string, Series>, errorKinds: string[], percentiles: Map<string, Series> | undefined, windowSeconds: number): MetricEvidence {
  const sum = (id: string) => (series.get(id)?.values ?? []).reduce((a, b) => a + b, 0);
  const has = (id: string) => (series.get(id)?.values.length ?? 0) > 0;
  const latency: StageLatencies = {};
  for (const [key] of LATENCIES) {
    const count = sum(`${key}_n`);
    if (count <= 0) continue;
    const stat: LatencyStat = { count, meanMs: sum(`${key}_sum`) / count, maxMs: Math.max(...(series.get(`${key}_max`)?.values ?? [0])) };
    const p50 = weightedPercentile(percentiles, `${key}_p50`);
    const p90 = weightedPercentile(percentiles, `${key}_p90`);
    if (p50 !== undefined) stat.p50Ms = p50;
    if (p90 !== undefined) stat.p90Ms = p90;
    latency[key] = stat;
  }
  const inflightCount = sum('inflight_n');
  const healthy = series.get('healthy_avg');
  const below = series.get('below_max');
  const present = ['bytes_sum', 'chunks_sum', 'inflight_n', 'total_n', 'healthy_avg', 's3throttle_sum', 'ddbthrottle_sum', 'errors_sum'].some(has);
  return {
    ...EMPTY_METRICS,
    present,
    percentiles: percentiles !== undefined && [...percentiles.values()].some((s) => s.values.length > 0),
    latency,
    bytesProcessed: sum('bytes_sum'),
    recordsProcessed: sum('records_sum'),
    chunksProcessed: sum('chunks_sum'),
    chunkErrors: sum('errors_sum'),
    chunkErrorsByKind: Object.fromEntries(errorKinds.map((kind, i) => [kind, sum(`kind${i}_sum`)]).filter(([, n]) => (n as number) > 0)),
    throttles: { s3: sum('s3throttle_sum'), dynamodb: sum('ddbthrottle_sum') },
    ...(inflightCount > 0 ? { inFlight: { meanPerNode: sum('inflight_sum') / inflightCount, meanFleet: sum('inflight_sum') / windowSeconds, reportingNodes: inflightCount / windowSeconds } } : {}),
    ...(healthy && healthy.values.length
      ? { healthyNodes: { min: Math.min(...(series.get('healthy_min')?.values ?? healthy.values)), max: Math.max(...(series.get('healthy_max')?.values ?? healthy.values)), last: last(healthy) } }
      : {}),
    ...(below && below.values.length ? { shardsBelowReplication: { max: Math.max(...below.values), last: last(below) } } : {}),
    replicasPulled: sum('pulled_sum'),
    leaderChanges: sum('leaders_sum'),
    chunker: { objectsPlanned: sum('objectsPlanned_sum'), chunksPlanned: sum('chunksPlanned_sum'), bytesPlanned: sum('bytesPlanned_sum') },
    ...(has('oldest_max') ? { oldestWorkMessageAgeSeconds: last(series.get('oldest_max') as Series) } : {}),
  };
}

/** The `ErrorKind` values ChunkErrors was published with for this stage. */
async function listErrorKinds(cw: CloudWatchClient, stage: string): Promise<string[]> {
  const kinds = new Set<string>();
  let NextToken: string | undefined;
  do {
    const out = await cw.send(new ListMetricsCommand({ Namespace: METRIC_NAMESPACE, MetricName: AgentMetric.chunkErrors, Dimensions: [{ Name: STAGE_DIMENSION, Value: stage }], NextToken }));
    for (const m of out.Metrics ?? []) {
      const kind = m.Dimensions?.find((d) => d.Name === ERROR_KIND_DIMENSION)?.Value;
      if (kind) kinds.add(kind);
    }
    NextToken = out.NextToken;
  } while (NextToken);
  return [...kinds].sort();
}

/** p50 and p90 of each latency over the whole window; undefined when the endpoint refuses percentiles. */
async function readPercentiles(cw: CloudWatchClient, dims: Dimensions, window: MetricWindow): Promise<Map<string, Series> | undefined> {
  const seconds = Math.max(PERIOD_SECONDS, Math.ceil((window.end.getTime() - window.start.getTime()) / 1000 / PERIOD_SECONDS) * PERIOD_SECONDS);
  const queries: MetricDataQuery[] = LATENCIES.flatMap(([key, name]) =>
    (['p50', 'p90'] as const).map((stat) => ({
      Id: `${key}_${stat}`,
      MetricStat: { Metric: { Namespace: METRIC_NAMESPACE, MetricName: name, Dimensions: dims }, Period: seconds, Stat: stat },
      ReturnData: true,
    })),
  );
  try {
    const out = await getMetricData(cw, queries, window);
    for (const s of out.values()) {
      if (s.values.some((v) => typeof v !== 'number' || Number.isNaN(v))) return undefined;
    }
    return out;
  } catch {
    return undefined;
  }
}

/** The value of the latest data point. */
function last(s: Series): number {
  let at = 0;
  for (let i = 1; i < s.timestamps.length; i++) if (s.timestamps[i] >= s.timestamps[at]) at = i;
  return s.values[at];
}

/** Percentiles of several periods cannot be combined exactly; their mean is close enough to rank stages. */
function weightedPercentile(percentiles: Map<string, Series> | undefined, id: string): number | undefined {
  const values = percentiles?.get(id)?.values.filter((v) => Number.isFinite(v)) ?? [];
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
}
