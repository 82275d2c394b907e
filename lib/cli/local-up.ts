import { readFile } from 'node:fs/promises';
import { startLocalEnvironment } from '../local/environment';

/** `shardline local up`: runs in the foreground until Ctrl-C, then stops everything it started. */
export async function localUp(opts: { agents: number; endpoint?: string; config?: string; stateDir: string }): Promise<void> {
  const config = opts.config ? JSON.parse(await readFile(opts.config, 'utf8')) : undefined;
  const env = await startLocalEnvironment({
    agents: opts.agents,
    endpoint: opts.endpoint,
    stateDir: opts.stateDir,
    config,
    log: (message, fields) => console.error(`[local] ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`),
  });
  const { state } = env;
  console.log(`shardline local environment is up (${state.agents.length} agents) at ${state.endpoint}`);
  console.log(`  ingest bucket:    ${state.resources.ingestBucket}`);
  console.log(`  processed bucket: ${state.resources.processedBucket}`);
  console.log(`  state:            ${state.stateDir}/local.json`);
  console.log(`Try: aws --endpoint-url ${state.endpoint} s3 cp data.jsonl s3://${state.resources.ingestBucket}/`);
  console.log('Press Ctrl-C to stop.');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('stopping...');
  await env.stop();
}
