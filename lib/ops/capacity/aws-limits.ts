/**
 * The documented AWS limits `plan` sizes against. Each figure names where it comes from; they
 * change, so check them before a large run.
 */
export const AWS_LIMITS = {
  s3: {
    /** Requests per second per partitioned prefix (Amazon S3 User Guide, "Optimizing performance"). S3 splits a busy prefix gradually (503 SlowDown meanwhile). */
    putPerPrefix: 3500,
    getPerPrefix: 5500,
    /** Throughput of one S3 connection: AWS's performance guidelines cite about 85–90 MB/s; the lower bound is used. */
    bytesPerConnection: 85e6,
  },
  dynamodb: {
    /** Per partition (DynamoDB Developer Guide): a single item never spreads over partitions, so one item's writes stop here. */
    writeUnitsPerPartition: 1000,
    readUnitsPerPartition: 3000,
    /** Default per-table quota of an on-demand table (adjustable, Service Quotas). */
    tableWriteUnits: 40000,
    tableReadUnits: 40000,
    /** A new on-demand table serves this at once, then up to twice its previous peak; warm throughput raises it ahead of a run. */
    newTableWriteUnits: 4000,
  },
  sqs: {
    /** Standard queues: "nearly unlimited" API calls per second; nothing to size. */
    standardUnlimited: true,
  },
  lambda: {
    /**
     * SQS event source mapping in standard (default) mode, from the AWS Lambda Developer Guide
     * "Configuring scaling behavior for SQS event source mappings" (read 2026-11): starts with 5
     * concurrent invokes and adds up to 300 a minute, to at most 1,250 per mapping. Before the
     * faster scale-up (announced November 2023) it added 60 a minute; `plan` uses 300. The
     * mapping's MaximumConcurrency setting accepts 2–1,000 (CloudFormation ScalingConfig), and
     * provisioned mode (dedicated pollers, about 3× faster scaling) is not assumed.
     */
    sqsInitialConcurrency: 5,
    sqsScaleUpPerMinute: 300,
    sqsMaxConcurrency: 1250,
    maximumConcurrencySetting: 1000,
  },
} as const;

/** A GPU instance as `plan` sees it: what limits a node, and its price. */
export interface InstanceType {
  vcpus: number;
  gpus: number;
  /** Baseline network bandwidth, Gbit/s (g5.xlarge bursts to 10 but sustains 2.5). */
  networkGbps: number;
  /** Local NVMe instance store for the shard cache, bytes. */
  localStorageBytes: number;
  /** On-demand Linux, us-east-1, USD per hour (see PRICES_TAKEN). */
  pricePerHour: number;
}

export const INSTANCE_TYPES: Record<string, InstanceType> = {
  'g5.xlarge': { vcpus: 4, gpus: 1, networkGbps: 2.5, localStorageBytes: 250e9, pricePerHour: 1.006 },
  'g5.12xlarge': { vcpus: 48, gpus: 4, networkGbps: 40, localStorageBytes: 3800e9, pricePerHour: 5.672 },
  'p4d.24xlarge': { vcpus: 96, gpus: 8, networkGbps: 400, localStorageBytes: 8000e9, pricePerHour: 32.7726 },
  'p5.48xlarge': { vcpus: 192, gpus: 8, networkGbps: 3200, localStorageBytes: 30720e9, pricePerHour: 98.32 },
};

/**
 * us-east-1 list prices (USD). Compiled 2026-11-29 from AWS's public price pages as the author
 * knew them, not fetched live: an estimate. The p4d.24xlarge and p5.48xlarge rates are the list
 * prices from before AWS's June 2025 reduction of P4/P5 on-demand prices, so they overstate those
 * two; check https://aws.amazon.com/ec2/pricing/on-demand/ before budgeting.
 */
export const PRICES = {
  /** S3 Standard requests: PUT, COPY, POST, LIST per 1,000; GET, SELECT and others per 1,000. */
  s3PutPer1000: 0.005,
  s3GetPer1000: 0.0004,
  /** DynamoDB on-demand (after the November 2024 halving): per million write / read request units. */
  dynamoWritePerMillion: 0.625,
  dynamoReadPerMillion: 0.125,
  /** SQS standard, per million requests (each up to 64 KB), beyond the free tier. */
  sqsPerMillion: 0.4,
  /** Lambda arm64 (the chunker's architecture): per GB-second and per million requests. */
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
} as const;

export const PRICES_TAKEN = '2026-11-29';
