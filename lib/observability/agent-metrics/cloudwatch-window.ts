import type { Dimension, MetricDatum, StandardUnit } from '@aws-sdk/client-cloudwatch';
import { STAGE_DIMENSION } from '../metric-names';

/** CloudWatch's limits on one PutMetricData call and one datum. */
export const PUT_METRIC_DATA_LIMITS = {
  /** Distinct values in one datum's `Values` array. */
  valuesPerDatum: 150,
  /** Datums in one request. */
  datumsPerRequest: 1000,
  /** Request payload; kept well below the 1 MB the API takes. */
  bytesPerRequest: 900_000,
} as const;

interface Sum {
  name: string;
  unit: StandardUnit;
  dimensions: Record<string, string>;
  value: number;
}

/**
 * One publishing interval's worth of agent metrics, as CloudWatch wants them: latencies as
 * value/count arrays (so CloudWatch can compute percentiles; a statistic set could not), counters
 * as one summed value, each with the `Stage` dimension plus any extra ones. `take()` hands the
 * interval over and starts the next.
 */
export class CloudWatchWindow {
  private distributions = new Map<string, { unit: StandardUnit; counts: Map<number, number> }>();
  private sums = new Map<string, Sum>();

  constructor(private readonly stage: string) {}

  /** One observation of a distribution (e.g. a chunk's download milliseconds). */
  observe(name: string, unit: StandardUnit, value: number): void {
    if (!Number.isFinite(value)) return;
    let d = this.distributions.get(name);
    if (!d) this.distributions.set(name, (d = { unit, counts: new Map() }));
    // Whole units: keeps the distinct values (at most 150 per datum) few without losing anything that matters.
    const v = Math.max(0, Math.round(value));
    d.counts.set(v, (d.counts.get(v) ?? 0) + 1);
  }

  /** Adds to a counter; `dimensions` are added to `Stage`. */
  add(name: string, unit: StandardUnit, value: number, dimensions: Record<string, string> = {}): void {
    if (!Number.isFinite(value) || value === 0) return;
    const key = `${name}\0${JSON.stringify(dimensions)}`;
    const sum = this.sums.get(key);
    if (sum) sum.value += value;
    else this.sums.set(key, { name, unit, dimensions, value });
  }

  /** Whether anything was recorded since the last `take()`. */
  get empty(): boolean {
    return this.distributions.size === 0 && this.sums.size === 0;
  }

  /** The interval's datums, high resolution, stamped `timestamp`; the window starts empty again. */
  take(timestamp: Date): MetricDatum[] {
    const datums: MetricDatum[] = [];
    const base = { Timestamp: timestamp, StorageResolution: 1 };
    for (const [name, d] of this.distributions) {
      const entries = [...d.counts.entries()].sort((a, b) => a[0] - b[0]);
      for (let i = 0; i < entries.length; i += PUT_METRIC_DATA_LIMITS.valuesPerDatum) {
        const slice = entries.slice(i, i + PUT_METRIC_DATA_LIMITS.valuesPerDatum);
        datums.push({ ...base, MetricName: name, Unit: d.unit, Dimensions: this.dimensions({}), Values: slice.map((e) => e[0]), Counts: slice.map((e) => e[1]) });
      }
    }
    for (const s of this.sums.values()) datums.push({ ...base, MetricName: s.name, Unit: s.unit, Dimensions: this.dimensions(s.dimensions), Value: s.value });
    this.distributions = new Map();
    this.sums = new Map();
    return datums;
  }

  /** A gauge's datum (not accumulated: the caller samples it at publishing time). */
  gauge(name: string, unit: StandardUnit, value: number, timestamp: Date): MetricDatum {
    return { Timestamp: timestamp, StorageResolution: 1, MetricName: name, Unit: unit, Dimensions: this.dimensions({}), Value: value };
  }

  private dimensions(extra: Record<string, string>): Dimension[] {
    return [{ Name: STAGE_DIMENSION, Value: this.stage }, ...Object.entries(extra).map(([Name, Value]) => ({ Name, Value }))];
  }
}

/**
 * Splits datums into PutMetricData requests within CloudWatch's limits (datums per request and
 * payload size, estimated from the JSON the SDK sends).
 */
export function toRequests(datums: MetricDatum[]): MetricDatum[][] {
  const requests: MetricDatum[][] = [];
  let current: MetricDatum[] = [];
  let bytes = 0;
  for (const datum of datums) {
    const size = JSON.stringify(datum).length + 1;
    if (current.length > 0 && (current.length >= PUT_METRIC_DATA_LIMITS.datumsPerRequest || bytes + size > PUT_METRIC_DATA_LIMITS.bytesPerRequest)) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(datum);
    bytes += size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}
