import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createChunkerHandler } from '../functions/chunker-handler';
import { createAwsClients } from '../lib/aws/clients';
import { createChunkerDeps } from '../lib/chunker/chunker-deps';
import { createMetrics } from '../lib/observability/lambda-metrics';
import { createLogger, logTo } from '../lib/observability/logger';
import { writeLocalState, type LocalState } from '../lib/aws/local-state';
import { CONFIG_ENV_VAR, parsePipelineConfig } from '../lib/config/pipeline-config';
import { resourcesFromOutputs, resourcesToEnv } from '../lib/resources';
import { startLocalAgent, stopLocalAgent, type LocalAgent } from './agent-processes';
import { openChunkerLog } from './chunker-log';
import { ControlTable, ingestAllowed } from '../lib/control/control-state';
import { CONTROL_POLL_MS, ControlWatcher } from '../lib/control/control-watcher';
import { startMotoServer } from './emulator/moto-server';
import { LambdaSqsRunner } from './lambda-sqs-runner';
import { provisionLocalStack } from './provision-stack';

export interface LocalEnvironmentOptions {
  /** Extra agent arguments, e.g. fault injection (`--fail-keys`). */
  agentArgs?: string[];
  /** How many agent processes (nodes) to start. @default 3 */
  agents?: number;
  /** An AWS-compatible endpoint to use (e.g. LocalStack); otherwise a moto server is started. */
  endpoint?: string;
  /** Where local.json, agent logs and caches live. @default .shardline */
  stateDir?: string;
  /** Pipeline config overrides (validated; a bad value is refused here). */
  config?: unknown;
  region?: string;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** A running local environment; `stop()` stops everything it started. */
export interface LocalEnvironment {
  state: LocalState;
  agents: LocalAgent[];
  chunker: LambdaSqsRunner;
  /** Starts agent `index` (1-based) again, as after a crash: same node id, cache and log. */
  restartAgent(index: number, args?: string[]): Promise<LocalAgent>;
  stop(): Promise<void>;
}

/**
 * Starts the whole pipeline locally: the emulator (unless an endpoint is given), the resources of
 * the CDK app's own template, the chunker Lambda in-process on its real SQS event source, and N
 * agent processes as nodes. Then writes `<stateDir>/local.json`.
 */
export async function startLocalEnvironment(opts: LocalEnvironmentOptions = {}): Promise<LocalEnvironment> {
  const log = opts.log ?? (() => undefined);
  const stateDir = resolve(opts.stateDir ?? '.shardline');
  const region = opts.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const config = parsePipelineConfig(opts.config ?? { chunkSizeBytes: 8 * 1024 * 1024 });
  await mkdir(stateDir, { recursive: true });

  const moto = opts.endpoint ? undefined : await startMotoServer({ logFile: join(stateDir, 'moto.log') });
  const endpoint = opts.endpoint ?? (moto as { endpoint: string }).endpoint;
  log('endpoint ready', { endpoint, started: Boolean(moto) });
  // Stopped in reverse order of starting: agents and chunker first, the emulator last.
  const stopAll: Array<() => Promise<void>> = moto ? [() => moto.stop()] : [];
  try {
    const clients = createAwsClients({ endpoint, region });
    const outputs = await provisionLocalStack(clients, { namePrefix: 'shardline-local' });
    const resources = resourcesFromOutputs(outputs);
    log('resources provisioned', resources);

    const env: Record<string, string> = {
      ...resourcesToEnv(resources),
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: region,
      // EMF goes to stdout, where nothing collects it locally: agents publish to the endpoint instead.
      POWERTOOLS_METRICS_DISABLED: 'true',
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
      [CONFIG_ENV_VAR]: JSON.stringify(config),
    };
    // The in-process chunker is the Lambda's own handler, built by its factory; Powertools reads
    // whether metrics are on from the environment only (EMF would go to stdout, where nothing
    // collects it locally: agents publish to the endpoint instead).
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const logger = createLogger('shardline-chunker');
    const handler = createChunkerHandler({
      chunker: createChunkerDeps(clients, resources, config, logTo(logger)),
      logger,
      metrics: createMetrics('shardline-chunker'),
    });
    const chunkerLog = openChunkerLog(logger, stateDir);
    stopAll.push(() => chunkerLog.close());
    const queueArn = await queueArnOf(clients.sqs, resources.ingestEventsQueueUrl);
    // The mapping on AWS is disabled by the control state machine; locally the runner follows the
    // same control state in the table.
    const control = new ControlWatcher(new ControlTable(clients.doc, resources.controlTable), config);
    await control.refresh();
    control.start(CONTROL_POLL_MS);
    const enabled = () => ingestAllowed(control.current().state);
    const chunker = new LambdaSqsRunner({ sqs: clients.sqs, queueUrl: resources.ingestEventsQueueUrl, queueArn, region, functionName: 'shardline-chunker', handler, log, enabled });
    chunker.start();
    stopAll.push(() => chunker.stop().finally(() => control.stop()));

    const agents: LocalAgent[] = [];
    for (let i = 1; i <= (opts.agents ?? 3); i++) agents.push(await startLocalAgent(i, stateDir, env, opts.agentArgs));
    stopAll.push(() => Promise.all(agents.map((a) => stopLocalAgent(a))).then(() => undefined));

    const state: LocalState = {
      endpoint,
      region,
      resources,
      config,
      agents: agents.map((a) => ({ nodeId: a.nodeId, failureDomain: a.failureDomain, cacheDir: a.cacheDir, logFile: a.logFile, pid: a.process.pid })),
      chunkerLogFile: chunkerLog.path,
      stateDir,
      startedAt: new Date().toISOString(),
    };
    await writeLocalState(state);
    const restartAgent = async (index: number, args = opts.agentArgs) => (agents[index - 1] = await startLocalAgent(index, stateDir, env, args));
    return { state, agents, chunker, restartAgent, stop: () => runInReverse(stopAll) };
  } catch (err) {
    await runInReverse(stopAll);
    throw err;
  }
}

async function runInReverse(steps: Array<() => Promise<void>>): Promise<void> {
  for (const step of [...steps].reverse()) await step().catch(() => undefined);
}

async function queueArnOf(sqs: ReturnType<typeof createAwsClients>['sqs'], queueUrl: string): Promise<string> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return out.Attributes?.QueueArn as string;
}
