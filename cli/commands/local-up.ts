import { readFile } from 'node:fs/promises';
import { createAwsClients } from '../../lib/aws/clients';
import { waitForMetricsUrls } from '../../local/agent-metrics-endpoint';
import type { LocalState } from '../../lib/aws/local-state';
import { startLocalEnvironment } from '../../local/environment';
import { startDashboard, type Dashboard } from '../../lib/observability/dashboard/server';
import { DEFAULT_DASHBOARD_PORT } from '../../lib/observability/dashboard/default-port';

/** `shardline local up`: runs in the foreground until Ctrl-C, then stops everything it started. */
export async function localUp(opts: { agents: number; endpoint?: string; config?: string; stateDir: string; dashboardPort?: number; slowMs?: number }): Promise<void> {
  const config = opts.config ? JSON.parse(await readFile(opts.config, 'utf8')) : undefined;
  const env = await startLocalEnvironment({
    agents: opts.agents,
    endpoint: opts.endpoint,
    stateDir: opts.stateDir,
    config,
    agentArgs: opts.slowMs ? ['--slow-ms', String(opts.slowMs)] : undefined,
    log: (message, fields) => console.error(`[local] ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`),
  });
  const { state } = env;
  console.log(`shardline local environment is up (${state.agents.length} agents) at ${state.endpoint}`);
  console.log(`  ingest bucket:    ${state.resources.ingestBucket}`);
  console.log(`  processed bucket: ${state.resources.processedBucket}`);
  console.log(`  state:            ${state.stateDir}/local.json`);
  const dashboard = await startLocalDashboard(state, opts.dashboardPort ?? DEFAULT_DASHBOARD_PORT);
  if (dashboard) console.log(`  dashboard:        ${dashboard.url}`);
  const metricsUrls = await waitForMetricsUrls(env.agents, 15_000);
  console.log(`  agent /metrics:   ${metricsUrls.map((u, i) => u ?? `(${env.agents[i].nodeId}: not yet listening)`).join(' ')}`);
  console.log(`Try: aws --endpoint-url ${state.endpoint} s3 cp data.jsonl s3://${state.resources.ingestBucket}/`);
  console.log('Press Ctrl-C to stop.');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('stopping...');
  await dashboard?.stop();
  await env.stop();
}

/** The live dashboard of the local environment; a busy port is reported, not fatal. */
async function startLocalDashboard(state: LocalState, port: number): Promise<Dashboard | undefined> {
  const target = { clients: createAwsClients({ endpoint: state.endpoint, region: state.region }), resources: state.resources, endpoint: state.endpoint, label: `local (${state.endpoint})` };
  try {
    return await startDashboard(target, {
      port,
      replicationFactor: state.config.replicationFactor,
      heartbeatTimeoutMs: state.config.heartbeatTimeoutSeconds * 1000,
    });
  } catch (err) {
    console.error(`[local] dashboard not started on port ${port}: ${(err as Error).message} (use --dashboard-port 0 for a free port)`);
    return undefined;
  }
}
