import type { CloudWatchClient, MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { AgentMetric, METRIC_NAMESPACE, STAGE_DIMENSION } from '../../observability/metric-names';
import { getMetricData, type Series } from '../metric-data';
import type { NodeThroughput } from './plan-input';

export interface MeasureOptions {
  stage: string;
  end: Date;
  /** How far back to look for a run. @default 3 hours (CloudWatch keeps 1-minute data for 15 days) */
  lookbackSeconds?: number;
  /** The metrics come from a local emulator run. */
  emulator?: boolean;
}

/**
 * Per-node throughput of a recent run: BytesProcessed per minute over the nodes working that
 * minute (HealthyNodes, else the nodes reporting ChunksInFlight), over the minutes in which bytes
 * were processed. Undefined when no run is found.
 */
export async function measureNodeThroughput(cw: CloudWatchClient, opts: MeasureOptions): Promise<NodeThroughput | undefined> {
  const lookback = opts.lookbackSeconds ?? 3 * 3600;
  const dims = [{ Name: STAGE_DIMENSION, Value: opts.stage }];
  const q = (Id: string, MetricName: string, Stat: string): MetricDataQuery => ({
    Id,
    MetricStat: { Metric: { Namespace: METRIC_NAMESPACE, MetricName, Dimensions: dims }, Period: 60, Stat },
    ReturnData: true,
  });
  const series = await getMetricData(
    cw,
    [q('bytes', AgentMetric.bytesProcessed, 'Sum'), q('healthy', AgentMetric.healthyNodes, 'Average'), q('reporting', AgentMetric.chunksInFlight, 'SampleCount')],
    {
      start: new Date(opts.end.getTime() - lookback * 1000),
      end: opts.end,
    },
  );
  const measured = perNodeRate(series);
  if (!measured) return undefined;
  const where = opts.emulator ? '; measured against a local emulator, which bounds it: not a figure for AWS hosts' : '';
  return {
    bytesPerSecond: measured.bytesPerSecond,
    source: 'measured',
    ...(opts.emulator ? { emulator: true } : {}),
    note: `measured: BytesProcessed of Stage=${opts.stage} over ${measured.minutes} active minute(s) of the last ${Math.round(lookback / 3600)} h, ${measured.nodes.toFixed(1)} node(s) on average; nodes that were not kept busy make it an underestimate${where}`,
  };
}

/** Σ bytes ÷ Σ (60 s × nodes) over the minutes with bytes and a node count (pure; exported for tests). */
export function perNodeRate(series: Map<string, Series>): { bytesPerSecond: number; minutes: number; nodes: number } | undefined {
  const at = (id: string) => new Map((series.get(id)?.timestamps ?? []).map((t, i) => [t, series.get(id)?.values[i] ?? 0]));
  const bytes = at('bytes');
  const healthy = at('healthy');
  const reporting = at('reporting');
  let sumBytes = 0;
  let nodeSeconds = 0;
  let minutes = 0;
  for (const [t, b] of bytes) {
    const nodes = healthy.get(t) ?? (reporting.has(t) ? (reporting.get(t) as number) / 60 : undefined);
    if (!(b > 0) || !nodes || nodes <= 0) continue;
    sumBytes += b;
    nodeSeconds += 60 * nodes;
    minutes++;
  }
  return nodeSeconds > 0 ? { bytesPerSecond: sumBytes / nodeSeconds, minutes, nodes: nodeSeconds / 60 / minutes } : undefined;
}
