import { AWS_LIMITS, type InstanceType } from './aws-limits';
import { formatCount, formatRate } from '../../units';

/** One documented limit against what the plan asks of it; headroom < 1 means it is exceeded. */
export interface LimitCheck {
  limit: string;
  demand: number;
  capacity: number;
  unit: string;
  headroom: number;
  note: string;
}

/** What the plan asks of each documented limit. */
export interface LimitDemand {
  rate: number;
  nodes: number;
  nodeRate: number;
  inst: InstanceType;
  r: number;
  ratio: number;
  size: number;
  inFlight: number;
  maxStreams: number;
  sourceGets: number;
  sourcePrefixes: number;
  puts: number;
  replicaGets: number;
  processedPrefixes: number;
  wcu: number;
  rcu: number;
  objectItemWcu: number;
  chunkerConcurrency: number;
  maxConcurrency: number;
}

/** Every documented limit against the plan's demand on it (headroom < 1: exceeded, with what to change). */
export function limitChecks(x: LimitDemand): LimitCheck[] {
  const check = (limit: string, demand: number, capacity: number, unit: string, note: string): LimitCheck => ({
    limit,
    demand,
    capacity,
    unit,
    headroom: demand > 0 ? capacity / demand : Infinity,
    note,
  });
  const d = AWS_LIMITS.dynamodb;
  const l = AWS_LIMITS.lambda;
  return [
    check('fleet throughput', x.rate, x.nodes * x.nodeRate, 'B/s', `${x.nodes} nodes × ${formatRate(x.nodeRate)}`),
    check('instance network (inbound)', (x.rate / x.nodes) * (1 + x.r * x.ratio), (x.inst.networkGbps * 1e9) / 8, 'B/s per node', 'source bytes plus replica pulls'),
    check('shard cache', (x.size * x.ratio * x.r) / x.nodes, x.inst.localStorageBytes, 'B per node', 'instance-store NVMe; set cacheCapacityGiB to what each node has (an EBS volume can add more)'),
    check('S3 streams per node', x.inFlight, x.maxStreams, 'chunks in flight', 'the agent runs at most 2 × vCPUs chunks at once'),
    check('S3 GET per source prefix', x.sourceGets, x.sourcePrefixes * AWS_LIMITS.s3.getPerPrefix, 'GET/s', `spread the source keys over at least ${x.sourcePrefixes} prefix(es) (5,500 GET/s each)`),
    check(
      'S3 PUT per processed prefix',
      x.puts,
      x.processedPrefixes * AWS_LIMITS.s3.putPerPrefix,
      'PUT/s',
      `shards/<object id>/ keys spread by object; S3 needs at least ${x.processedPrefixes} partition(s) (3,500 PUT/s, 5,500 GET/s each) and splits gradually`,
    ),
    check(
      'DynamoDB table writes (on-demand quota)',
      x.wcu,
      d.tableWriteUnits,
      'WCU/s',
      x.wcu > d.tableWriteUnits
        ? 'raise the chunk size (fewer ledger writes per byte) or the table quota (Service Quotas)'
        : x.wcu > d.newTableWriteUnits
          ? `above the ${formatCount(d.newTableWriteUnits)} WCU/s a new on-demand table serves at once: set warm throughput before the run`
          : 'fits',
    ),
    check('DynamoDB table reads (on-demand quota)', x.rcu, d.tableReadUnits, 'RCU/s', 'one consistent read of the object per chunk'),
    check(
      'DynamoDB object item (one partition)',
      x.objectItemWcu,
      d.writeUnitsPerPartition,
      'WCU/s',
      x.objectItemWcu > d.writeUnitsPerPartition
        ? "every chunk commit updates its object's item: use larger chunks (fewer commits per object) or smaller objects"
        : "every chunk commit updates its object's item",
    ),
    check(
      'chunker concurrency (chunker.maxConcurrency)',
      x.chunkerConcurrency,
      x.maxConcurrency,
      'invocations',
      x.chunkerConcurrency > x.maxConcurrency ? `raise chunker.maxConcurrency to ${x.chunkerConcurrency}` : 'fits',
    ),
    check(
      'SQS event source scaling (standard mode)',
      x.chunkerConcurrency,
      l.sqsMaxConcurrency,
      'invocations',
      `adds ${l.sqsScaleUpPerMinute} a minute from ${l.sqsInitialConcurrency}, to ${formatCount(l.sqsMaxConcurrency)} at most; SQS standard queues themselves are nearly unlimited`,
    ),
  ];
}
