/**
 * The modelled AWS services: latency distributions, quotas, and the request accounting the
 * report checks against them. AWS figures are published ones; the emulator profile is what a local
 * moto server answers (measured by test/e2e/simulator-vs-local.test.ts, which passes its own).
 */
import { AWS_LIMITS } from '../ops/capacity/aws-limits';
import { sampleLatencyMs, type LatencyDistribution, type Random } from './prng';

export type Service = 's3' | 'dynamodb' | 'sqs' | 'cloudwatch';
export const SERVICES: readonly Service[] = ['s3', 'dynamodb', 'sqs', 'cloudwatch'];

/** Latencies of each kind of request, and how many requests a service serves at once. */
export interface LatencyProfile {
  name: string;
  /** S3: time to first byte of a GET, and of a PUT's answer (a part, a small object, a multipart create/complete). */
  s3Get: LatencyDistribution;
  s3Put: LatencyDistribution;
  /** Bytes per second of one S3 connection. */
  s3BytesPerConnection: number;
  dynamodb: LatencyDistribution;
  dynamodbTransaction: LatencyDistribution;
  sqs: LatencyDistribution;
  cloudwatch: LatencyDistribution;
  /**
   * Requests a service works on at once; beyond that they queue (first come, first served).
   * Unbounded on AWS; 1 for DynamoDB on the local emulator, whose launcher serializes it.
   */
  servers: Record<Service, number>;
  /**
   * When set, every service draws on this one pool of servers instead (an emulator that is a single
   * process: moto answers every service in one Python process, one request at a time under its GIL).
   */
  sharedServers?: number;
}

/**
 * Published figures: DynamoDB "single-digit millisecond" reads and writes (transactions about
 * twice); S3 first byte in the tens of milliseconds within a Region (the S3 performance guide
 * cites 100–200 ms for the slow tail of small objects) and 85–90 MB/s per connection; SQS and
 * CloudWatch API calls in the low tens of milliseconds.
 */
export const AWS_PROFILE: LatencyProfile = {
  name: 'aws',
  s3Get: { p50Ms: 30, p99Ms: 150 },
  s3Put: { p50Ms: 40, p99Ms: 200 },
  s3BytesPerConnection: AWS_LIMITS.s3.bytesPerConnection,
  dynamodb: { p50Ms: 4, p99Ms: 12 },
  dynamodbTransaction: { p50Ms: 10, p99Ms: 30 },
  sqs: { p50Ms: 8, p99Ms: 30 },
  cloudwatch: { p50Ms: 10, p99Ms: 40 },
  servers: { s3: Infinity, dynamodb: Infinity, sqs: Infinity, cloudwatch: Infinity },
};

/**
 * A moto server on this machine, idle, measured once (2026-11-30) with the SDK clients: the
 * per-request service times. Its DynamoDB is serialized by the launcher, so it is one server; the
 * queueing behind it under load comes out of the simulation.
 */
export const EMULATOR_PROFILE: LatencyProfile = {
  name: 'emulator',
  s3Get: { p50Ms: 6, p99Ms: 20 },
  s3Put: { p50Ms: 8, p99Ms: 30 },
  s3BytesPerConnection: 240e6,
  dynamodb: { p50Ms: 5, p99Ms: 15 },
  dynamodbTransaction: { p50Ms: 9, p99Ms: 25 },
  sqs: { p50Ms: 5, p99Ms: 15 },
  cloudwatch: { p50Ms: 5, p99Ms: 15 },
  servers: { s3: Infinity, dynamodb: 1, sqs: Infinity, cloudwatch: Infinity },
};

export const LATENCY_PROFILES: Record<string, LatencyProfile> = { aws: AWS_PROFILE, emulator: EMULATOR_PROFILE };

/** Requests per second that are not chunk work: heartbeats, replica polls, control reads, metrics. */
export interface ControlPlaneLoad {
  name: string;
  /** Per node, per second. */
  perNode: { dynamodbReads: number; dynamodbWrites: number; sqs: number; cloudwatch: number };
  /** For the whole fleet (the leader's reads, the CLI's), per second. */
  fixed: { dynamodbReads: number; dynamodbWrites: number; sqs: number; cloudwatch: number };
}

export const CONTROL_PLANE_PRESETS: Record<string, ControlPlaneLoad> = {
  /**
   * Issue 15, measured with a counting proxy before the control-plane diet: per idle node the
   * replica Query every 0.5 s (2.9/s), UpdateItems (3.0/s: the heartbeat and the rest) and
   * PutMetricData (1.0/s); fixed, about 21/s of registry Scans, control GetItems and
   * GetQueueAttributes. The work loops' receives are modelled apart (they are the 2.1/s of SQS).
   */
  measured: {
    name: 'measured (issue 15, before the diet)',
    perNode: { dynamodbReads: 2.9, dynamodbWrites: 3.0, sqs: 0, cloudwatch: 1.0 },
    fixed: { dynamodbReads: 17, dynamodbWrites: 0, sqs: 4, cloudwatch: 0 },
  },
  /**
   * The design's budget (DESIGN.md): at most 1.5 requests per idle node per second, metrics through
   * the log driver (EMF) rather than PutMetricData, replica assignments pushed rather than polled.
   * What is left per node is the heartbeat (one UpdateItem a second); the receives are modelled apart.
   */
  budget: {
    name: 'budget (DESIGN.md: ≤ 1.5 requests per idle node per second)',
    perNode: { dynamodbReads: 0, dynamodbWrites: 1.0, sqs: 0, cloudwatch: 0 },
    fixed: { dynamodbReads: 4, dynamodbWrites: 2, sqs: 1, cloudwatch: 1 },
  },
};

/** The quotas the report checks rates against (per second). */
export const QUOTAS = {
  s3GetPerPrefix: AWS_LIMITS.s3.getPerPrefix,
  s3PutPerPrefix: AWS_LIMITS.s3.putPerPrefix,
  dynamodbWritePerPartition: AWS_LIMITS.dynamodb.writeUnitsPerPartition,
  dynamodbReadPerPartition: AWS_LIMITS.dynamodb.readUnitsPerPartition,
  dynamodbTableWrite: AWS_LIMITS.dynamodb.tableWriteUnits,
  dynamodbTableRead: AWS_LIMITS.dynamodb.tableReadUnits,
  /** SQS standard queue: in-flight messages (received, not deleted); API calls are "nearly unlimited". */
  sqsInFlight: 120_000,
  /** CloudWatch PutMetricData per Region (Service Quotas, adjustable; check your account). */
  cloudwatchPutMetricData: 500,
} as const;

/** What one modelled request is: which service, whether it reads or writes, the key whose partition it lands on, and its capacity units. */
export interface RequestSpec {
  service: Service;
  kind: 'read' | 'write';
  /** The partition (S3 prefix, DynamoDB item) the request's per-key limit applies to; none for SQS and CloudWatch. */
  partition?: string;
  units?: number;
  latency: LatencyDistribution;
  /** Extra time after the first byte (a transfer). */
  extraMs?: number;
}

/** Counts of one service over the run, and its busiest second. */
export interface ServiceCounts {
  requests: number;
  readUnits: number;
  writeUnits: number;
  peakPerSecond: number;
  /** The busiest second's write and read units (DynamoDB: against the table's quota). */
  peakWriteUnitsPerSecond: number;
  peakReadUnitsPerSecond: number;
  throttled: number;
}

/** Per-partition request counts in one-second windows: the busiest second of any one partition is checked against its limit. */
class PartitionWindows {
  private second = -1;
  private counts = new Map<string, number>();
  peak = 0;
  peakKey = '';

  /** Adds `units` to `key` in the second of `now`; false (and nothing added) when that would pass `limit`. */
  take(key: string, units: number, now: number, limit: number): boolean {
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      this.counts.clear();
    }
    const used = this.counts.get(key) ?? 0;
    if (used + units > limit) return false;
    this.counts.set(key, used + units);
    if (used + units > this.peak) {
      this.peak = used + units;
      this.peakKey = key;
    }
    return true;
  }
}

/**
 * The modelled services: each request gets a latency from its distribution, waits for a free server
 * where a service has few, counts against its service and its partition, and is throttled when its
 * partition's second is full (S3 prefixes, DynamoDB items).
 */
export class ServiceModel {
  readonly counts: Record<Service, ServiceCounts> = Object.fromEntries(
    SERVICES.map((s) => [s, { requests: 0, readUnits: 0, writeUnits: 0, peakPerSecond: 0, peakWriteUnitsPerSecond: 0, peakReadUnitsPerSecond: 0, throttled: 0 }]),
  ) as Record<Service, ServiceCounts>;
  /** Per-partition windows: S3 GETs and PUTs per prefix, DynamoDB read and write units per item. */
  readonly partitions = { s3Get: new PartitionWindows(), s3Put: new PartitionWindows(), ddbRead: new PartitionWindows(), ddbWrite: new PartitionWindows() };
  private readonly perSecond: Record<Service, { second: number; count: number; read: number; write: number }> = Object.fromEntries(
    SERVICES.map((s) => [s, { second: -1, count: 0, read: 0, write: 0 }]),
  ) as Record<Service, { second: number; count: number; read: number; write: number }>;
  /** When each server of a service with few servers is next free. */
  private readonly freeAt: Record<Service, number[]>;
  /** Service time spent by the servers of the services that have few (the local emulator's): what their CPU did, in ms. */
  serverBusyMs = 0;
  /** Latencies observed per service (for the report's p50), sampled. */
  readonly latencies: Record<Service, number[]> = { s3: [], dynamodb: [], sqs: [], cloudwatch: [] };

  constructor(
    profile: LatencyProfile,
    private readonly random: Random,
  ) {
    const shared = profile.sharedServers !== undefined ? new Array<number>(profile.sharedServers).fill(0) : undefined;
    this.freeAt = Object.fromEntries(SERVICES.map((s) => [s, shared ?? (Number.isFinite(profile.servers[s]) ? new Array<number>(profile.servers[s]).fill(0) : [])])) as Record<Service, number[]>;
  }

  /**
   * One request at `now`: when its answer arrives, and whether it was throttled (an answer after
   * the latency that the caller must retry).
   */
  request(spec: RequestSpec, now: number, start = now): { doneAt: number; throttled: boolean } {
    const counts = this.counts[spec.service];
    counts.requests++;
    const units = spec.units ?? 1;
    const window = this.tally(spec.service, spec.kind, units, now);
    if (++window.count > counts.peakPerSecond) counts.peakPerSecond = window.count;
    const latency = sampleLatencyMs(this.random, spec.latency);
    const throttled = spec.partition !== undefined && !this.admit(spec, units, now);
    if (throttled) counts.throttled++;
    const servers = this.freeAt[spec.service];
    let queued = 0;
    if (servers.length > 0) {
      let best = 0;
      for (let i = 1; i < servers.length; i++) if (servers[i] < servers[best]) best = i;
      const begins = Math.max(start, servers[best]);
      servers[best] = begins + latency;
      queued = begins - start;
      this.serverBusyMs += latency;
    }
    const doneAt = start + queued + latency + (throttled ? 0 : (spec.extraMs ?? 0));
    if (counts.requests % 16 === 0) this.latencies[spec.service].push(queued + latency);
    return { doneAt, throttled };
  }

  /** Capacity units of a request counted already (the other items of a transaction). */
  units(service: Service, kind: 'read' | 'write', units: number, now: number): void {
    this.tally(service, kind, units, now);
  }

  /** Adds units to the service's totals and to its current second; returns that second's window. */
  private tally(service: Service, kind: 'read' | 'write', units: number, now: number) {
    const counts = this.counts[service];
    const window = this.perSecond[service];
    const second = Math.floor(now / 1000);
    if (window.second !== second) Object.assign(window, { second, count: 0, read: 0, write: 0 });
    if (kind === 'read') {
      counts.readUnits += units;
      window.read += units;
      if (window.read > counts.peakReadUnitsPerSecond) counts.peakReadUnitsPerSecond = window.read;
    } else {
      counts.writeUnits += units;
      window.write += units;
      if (window.write > counts.peakWriteUnitsPerSecond) counts.peakWriteUnitsPerSecond = window.write;
    }
    return window;
  }

  /** A count of requests made without modelling their timing (the idle control plane on AWS). */
  count(service: Service, kind: 'read' | 'write', requests: number): void {
    this.counts[service].requests += requests;
    if (kind === 'read') this.counts[service].readUnits += requests;
    else this.counts[service].writeUnits += requests;
  }

  /** Whether a service queues its requests (few servers): then its idle load must be simulated, not just counted. */
  queues(service: Service): boolean {
    return this.freeAt[service].length > 0;
  }

  private admit(spec: RequestSpec, units: number, now: number): boolean {
    const key = spec.partition as string;
    if (spec.service === 's3') return spec.kind === 'read' ? this.partitions.s3Get.take(key, 1, now, QUOTAS.s3GetPerPrefix) : this.partitions.s3Put.take(key, 1, now, QUOTAS.s3PutPerPrefix);
    if (spec.service === 'dynamodb')
      return spec.kind === 'read' ? this.partitions.ddbRead.take(key, units, now, QUOTAS.dynamodbReadPerPartition) : this.partitions.ddbWrite.take(key, units, now, QUOTAS.dynamodbWritePerPartition);
    return true;
  }
}
