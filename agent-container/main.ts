/**
 * Node agent entry point: the process that runs on every GPU training host (an ECS task on EC2),
 * or as a local process in `shardline local up`. An adapter only: it reads flags, environment and
 * instance metadata, wires real clients into lib/agent, and drains on SIGTERM.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { Agent, REGISTRY_VIEW_MAX_AGE_MS } from '../lib/agent/agent';
import { realClock } from '../lib/agent/clock';
import { LeaveNotice, type LeaveReason } from '../lib/agent/leave-notice';
import { clientOnSameEndpoint, createAwsClients } from '../lib/aws/clients';
import { countThrottles } from '../lib/aws/throttle-counter';
import { InstanceMetadata } from '../lib/cluster/imds';
import { completeLifecycleAction, lifecycleHookOf } from '../lib/cluster/lifecycle-hook';
import { cachePolicyFrom, resolveNodeIdentity } from '../lib/cluster/node-identity';
import { NodeRegistry } from '../lib/cluster/registry';
import { noticesFromEnv, objectOutcomeHook } from '../lib/ledger/object-outcome';
import { setRecordWorkers } from '../lib/records/pool/record-pool';
import { configFromEnv } from '../lib/config/pipeline-config';
import { startAgentTelemetry } from '../lib/observability/agent-metrics/agent-telemetry';
import { CheckpointMetrics, publishWithAgentMetrics } from '../lib/observability/checkpoint-metrics';
import { createLogger, logTo } from '../lib/observability/logger';
import { stageFromEnv } from '../lib/observability/stage';
import { resourcesFromEnv } from '../lib/resources';
import { parsePort, parseRate } from '../lib/units';

const metricsPort = (value: string): number => {
  try {
    return parsePort(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

const recordWorkers = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number of threads (0 or more)');
  return n;
};

const checkpointRate = (value: string): number => {
  try {
    return parseRate(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

const program = new Command('shardline-agent')
  .description('shardline node agent: processes chunks and caches shards for training')
  .option('--node-id <id>', 'node id (default: the EC2 instance id on AWS, else the host name): stable across agent restarts')
  .option('--failure-domain <domain>', 'failure domain: AZ, rack or placement group (default: the task AZ)')
  .option('--cache-dir <dir>', 'shard cache directory (default: $SHARDLINE_CACHE_DIR or /var/cache/shardline)')
  .addOption(new Option('--gpus <n>', 'GPUs on this node').argParser(Number))
  .addOption(new Option('--cache-capacity-gib <n>', 'cap on the cache in GiB (default: its filesystem less 10% headroom; $SHARDLINE_CACHE_CAPACITY_BYTES)').argParser(Number))
  .option('--node-group <group>', 'node group whose central config overrides apply (default: $SHARDLINE_NODE_GROUP or "default")')
  .option('--fail-keys <regex>', 'fault injection for chaos tests: fail every chunk of objects whose key matches')
  .addOption(new Option('--slow-ms <ms>', 'fault injection for chaos tests: extra milliseconds of work per chunk').argParser(Number))
  .addOption(new Option('--record-workers <n>', 'worker threads for the record path, 0: none (default: config recordWorkers, else a quarter of the CPUs, at least 1)').argParser(recordWorkers))
  .addOption(new Option('--checkpoint-dir <dir>', 'spool directory where training processes hand off checkpoints (shared with them); absent: no checkpoint uploads').env('SHARDLINE_CHECKPOINT_DIR'))
  .addOption(new Option('--checkpoint-concurrency <n>', 'checkpoint multipart parts in flight at once on this host').default(4).argParser(recordWorkers))
  .addOption(new Option('--checkpoint-rate <rate>', 'cap on checkpoint upload bandwidth, e.g. 500MB/s (default: none)').argParser(checkpointRate))
  .option('--endpoint <url>', 'AWS endpoint (LocalStack, moto); default $AWS_ENDPOINT_URL')
  .addOption(new Option('--metrics-port <port>', 'serve Prometheus /metrics on this port (0: a free one; absent: off)').env('SHARDLINE_METRICS_PORT').argParser(metricsPort))
  .option('--metrics-host <host>', 'address the /metrics endpoint listens on', '0.0.0.0')
  .option('--no-cloudwatch-metrics', 'do not publish metrics to CloudWatch (1 s datapoints, one PutMetricData per --metrics-flush-seconds)')
  .addOption(new Option('--metrics-flush-seconds <s>', 'send the 1 s metric datapoints to CloudWatch every this many seconds').env('SHARDLINE_METRICS_FLUSH_SECONDS').default(20).argParser(Number))
  .action(async (opts) => {
    const names = resourcesFromEnv(process.env, ['workQueueUrl', 'workDlqUrl', 'processedBucket', 'ledgerTable', 'nodesTable', 'controlTable', 'ingestEventsQueueUrl']);
    const config = configFromEnv(); // a bad config stops the agent here, with the reason
    setRecordWorkers(opts.recordWorkers);
    const overrides = {
      nodeId: opts.nodeId,
      failureDomain: opts.failureDomain,
      cacheDir: opts.cacheDir,
      gpus: opts.gpus,
      cacheCapacityBytes: opts.cacheCapacityGib === undefined ? undefined : Math.floor(opts.cacheCapacityGib * 1024 ** 3),
    };
    const identity = await resolveNodeIdentity(overrides, process.env, { log: logTo(createLogger('shardline-agent')) });
    const logger = createLogger('shardline-agent', { nodeId: identity.nodeId });
    const clients = createAwsClients({ endpoint: opts.endpoint ?? process.env.AWS_ENDPOINT_URL });
    // Told by a heartbeat that this node was marked DRAINING (Spot, scale-in, an operator).
    const registry = new NodeRegistry(clients.doc, names.nodesTable, { onDrainRequested: (_nodeId, reason) => notice.drainRequested(reason) });
    const telemetry = await startAgentTelemetry({
      stage: stageFromEnv(),
      nodeId: identity.nodeId,
      cloudwatch: opts.cloudwatchMetrics ? clients.cloudwatch : undefined,
      metricsPort: opts.metricsPort,
      flushEveryMs: opts.metricsFlushSeconds * 1000,
      metricsHost: opts.metricsHost,
      leader: {
        doc: clients.doc,
        ledgerTable: names.ledgerTable,
        healthyNodes: async () => (await registry.healthy(config.heartbeatTimeoutSeconds * 1000, Date.now(), REGISTRY_VIEW_MAX_AGE_MS)).length,
      },
      log: (level, message, fields) => logger[level](message, fields ?? {}),
    });
    // Checkpoint upload rate, time to durable and the oldest part not yet durable (its alarm: infra/observability/checkpoint-alarms.ts).
    const checkpointMetrics = opts.checkpointDir ? new CheckpointMetrics({ stage: stageFromEnv(), registry: telemetry.metrics.registry }) : undefined;
    if (checkpointMetrics) publishWithAgentMetrics(telemetry.metrics, checkpointMetrics);
    countThrottles(clients.s3, 'S3', (service) => telemetry.metrics.recordThrottle(service));
    countThrottles(clients.ddb, 'DynamoDB', (service) => telemetry.metrics.recordThrottle(service));
    const agent = new Agent({
      s3: clients.s3,
      sqs: clients.sqs,
      doc: clients.doc,
      registry,
      names,
      identity,
      config,
      nodeGroup: opts.nodeGroup ?? process.env.SHARDLINE_NODE_GROUP ?? 'default',
      log: (level, message, fields) => logger[level](message, fields ?? {}),
      failKeys: opts.failKeys ? new RegExp(opts.failKeys) : undefined,
      slowMs: opts.slowMs,
      cachePolicy: cachePolicyFrom(overrides),
      onCacheEvent: (event) => telemetry.metrics.recordCacheEvent(event.kind),
      onCacheReport: (report) => telemetry.metrics.setCacheReport(report),
      onObjectOutcome: objectOutcomeHook({ record: (o) => telemetry.metrics.recordObjectOutcome(o.outcome), notices: noticesFromEnv(clients.sns), log: logTo(logger) }),
      checkpoints: opts.checkpointDir
        ? {
            dir: opts.checkpointDir,
            concurrency: Math.max(1, opts.checkpointConcurrency),
            maxBytesPerSecond: opts.checkpointRate,
            endpoint: clients.endpoint,
            region: clients.region,
            observer: checkpointMetrics,
          }
        : undefined,
      ...telemetry.hooks,
    });
    telemetry.metrics.setInFlightSource(() => agent.chunksInFlight);
    let shuttingDown = false;
    const shutdown = (signal: string, deadline?: number) => {
      if (shuttingDown) return;
      shuttingDown = true;
      notice.stop();
      logger.info('draining', { signal });
      agent.drain({ deadline }).then(
        () =>
          releaseInstance()
            .then(() => telemetry.stop())
            .finally(() => process.exit(0)),
        (err) => {
          logger.error('drain failed', { error: err as Error });
          process.exit(1);
        },
      );
    };
    // On AWS, instance metadata says when the host goes away (Spot notice, scale-in); the same drain follows.
    const imds = identity.instanceId ? new InstanceMetadata(fetch as never) : undefined;
    const notice = new LeaveNotice({
      imds,
      drain: (why: LeaveReason) => shutdown(why.reason, why.deadline),
      clock: realClock,
      log: logTo(logger),
    });
    // Drained on a scale-in: let Auto Scaling terminate now rather than at its hook's timeout.
    const hook = lifecycleHookOf(process.env, identity.instanceId);
    const releaseInstance = async () => {
      if (!hook || !(notice.reason || (await imds?.get('autoscaling/target-lifecycle-state')) === 'Terminated')) return;
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only on the drain that needs it
      const { AutoScalingClient } = require('@aws-sdk/client-auto-scaling') as typeof import('@aws-sdk/client-auto-scaling');
      await completeLifecycleAction(clientOnSameEndpoint(clients, AutoScalingClient), hook, logTo(logger));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    await agent.start();
    notice.start();
  });

program.parseAsync().catch((err) => {
  console.error(`shardline-agent: ${(err as Error).message}`);
  process.exit(1);
});
