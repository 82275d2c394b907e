import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';

/** The values of one query, oldest first. */
export interface Series {
  timestamps: number[];
  values: number[];
}

/** Runs the queries (500 at most per request, as CloudWatch allows), following NextToken. */
export async function getMetricData(cw: CloudWatchClient, queries: MetricDataQuery[], window: { start: Date; end: Date }): Promise<Map<string, Series>> {
  const out = new Map<string, Series>();
  for (let i = 0; i < queries.length; i += 500) {
    let NextToken: string | undefined;
    do {
      const page = await cw.send(new GetMetricDataCommand({ MetricDataQueries: queries.slice(i, i + 500), StartTime: window.start, EndTime: window.end, ScanBy: 'TimestampAscending', NextToken }));
      for (const r of page.MetricDataResults ?? []) {
        const s = out.get(r.Id as string) ?? { timestamps: [], values: [] };
        (r.Timestamps ?? []).forEach((t, j) => {
          s.timestamps.push(new Date(t).getTime());
          s.values.push(Number(r.Values?.[j]));
        });
        out.set(r.Id as string, s);
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return out;
}
