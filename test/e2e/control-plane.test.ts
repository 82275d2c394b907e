import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createAwsClients } from '../../lib/aws/clients';
import type { Target } from '../../lib/aws/target';
import { NodeRegistry } from '../../lib/cluster/registry';
import { ConfigStore } from '../../lib/control/config-store';
import { ControlTable, type ControlAction } from '../../lib/control/control-state';
import { startExecution } from '../../lib/control/executions';
import { countLeasedChunks } from '../../lib/control/pipeline-activity';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import type { RunManifest } from '../../lib/ledger/run-ledger';
import { stopLocalAgent } from '../../local/agent-processes';
import { startMotoServer, type MotoServer } from '../../local/emulator/moto-server';
import { startLocalEnvironment, type LocalEnvironment } from '../../local/environment';
import { verifyObject } from '../../local/verify';
import { SHARDLINE_FROM_SOURCES } from '../support/cli';
import { waitFor } from '../support/wait';

const lines = (prefix: string, n: number, bad = 0) =>
  [...Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${prefix}-${i}`, text: `record ${i} ${'y'.repeat(40 + (i % 50))}` })), ...Array(bad).fill('{broken')].join('\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The control plane end to end on the local endpoint: the state machines are the ones in the
 * synthesized template, executed by the emulator; agents are real processes obeying the table.
 */
describe('control plane: pause, resume, drain, emergency stop, runs, config, rolling restart', () => {
  let moto: MotoServer;
  let env: LocalEnvironment;
  let target: Target;
  let ledger: ObjectLedger;
  let stateDir: string;
  const config = { chunkSizeBytes: 16 * 1024, replicationFactor: 2 };

  beforeAll(async () => {
    moto = await startMotoServer();
    stateDir = mkdtempSync(join(tmpdir(), 'shardline-control-'));
    // Slow chunks (600 ms of extra work each) so that actions land while chunks are in flight.
    env = await startLocalEnvironment({ endpoint: moto.endpoint, agents: 2, stateDir, config, agentArgs: ['--slow-ms', '600'] });
    target = { clients: createAwsClients({ endpoint: env.state.endpoint, region: env.state.region }), resources: env.state.resources, label: 'test' };
    ledger = new ObjectLedger(target.clients.doc, target.resources.ledgerTable);
  }, 120_000);
  afterAll(async () => {
    await env?.stop();
    await moto?.stop();
  });
  // Every test starts RUNNING, so one that fails half-way (paused, draining) does not fail the next ones too.
  beforeEach(async () => {
    const { desired } = await new ControlTable(target.clients.doc, target.resources.controlTable).state();
    if (desired !== 'RUNNING') expect((await control('resume', `restore RUNNING (was ${desired})`)).status).toBe('SUCCEEDED');
  }, 120_000);

  const control = async (action: ControlAction, reason = `test ${action}`) => {
    const result = await startExecution(target.clients.sfn, target.resources.controlStateMachineArn, { action, reason, requestedBy: 'jest' });
    console.log(`${action}: ${result.status} in ${(result.tookMs / 1000).toFixed(1)} s`, JSON.stringify(result.output ?? result.cause));
    return result;
  };
  const objectByKey = async (key: string) => (await ledger.list()).find((o) => o.key === key);
  const put = (key: string, body: string) => target.clients.s3.send(new PutObjectCommand({ Bucket: target.resources.ingestBucket, Key: key, Body: body }));
  const chunksDone = async (key: string) => (await objectByKey(key))?.chunksDone ?? 0;
  const leased = () => countLeasedChunks(target.clients.doc, target.resources.ledgerTable);
  const completeExactly = async (key: string, records: number) => {
    const done = await waitFor(async () => {
      const o = await objectByKey(key);
      return o?.status === 'COMPLETE' ? o : undefined;
    }, 120_000);
    const v = await verifyObject(target, done.objectId);
    expect(v.problems).toEqual([]);
    expect(v.ids.size).toBe(records);
    return done;
  };

  it('pause during a run stops leasing (in-flight chunks finish); resume completes it exactly once', async () => {
    // ~90 chunks: 2 agents × 4 slots at 600 ms each take several seconds, so the pause lands mid-object
    // even though the state machine takes seconds to record it and the agents a poll to see it.
    await put('pause/a.jsonl', lines('a', 16_000));
    const object = await waitFor(async () => ((await chunksDone('pause/a.jsonl')) >= 1 ? objectByKey('pause/a.jsonl') : undefined), 60_000);
    const paused = await control('pause');
    expect(paused.status).toBe('SUCCEEDED');
    expect(paused.output).toMatchObject({ desired: 'PAUSED', tookEffect: true });
    // In-flight chunks finish; then nothing new is leased.
    await waitFor(async () => (await leased()) === 0, 30_000);
    const before = await chunksDone('pause/a.jsonl');
    await sleep(3000);
    expect(await chunksDone('pause/a.jsonl')).toBe(before);
    expect(await leased()).toBe(0);
    expect(before).toBeLessThan(object!.chunkCount);

    expect((await control('resume')).output).toMatchObject({ desired: 'RUNNING', tookEffect: true });
    await completeExactly('pause/a.jsonl', 16_000);
  }, 240_000);

  it('drain waits until nothing is queued or in flight and reports the empty pipeline', async () => {
    await put('drain/b.jsonl', lines('b', 1500));
    // Drain leaves new ingest in its queue (by design), so the object is planned before the drain starts.
    await waitFor(() => objectByKey('drain/b.jsonl'), 60_000);
    const drained = await control('drain');
    expect(drained.status).toBe('SUCCEEDED');
    expect(drained.output).toMatchObject({ desired: 'DRAINING', tookEffect: true, activity: { quiescent: true, inFlight: 0, leasedChunks: 0, workQueueVisible: 0 } });
    // Queued work was finished by the drain, not abandoned.
    expect((await objectByKey('drain/b.jsonl'))?.status).toBe('COMPLETE');
    expect((await control('resume')).status).toBe('SUCCEEDED');
  }, 240_000);

  it('emergency-stop hands every lease back at once; a later resume completes with exact accounting', async () => {
    await put('emergency/c.jsonl', lines('c', 4000, 3));
    await waitFor(async () => (await leased()) > 0, 60_000);
    const stopped = await control('emergency-stop', 'bad data suspected');
    expect(stopped.status).toBe('SUCCEEDED');
    expect(stopped.output).toMatchObject({ desired: 'STOPPED', activity: { noLeases: true } });
    expect(await leased()).toBe(0);
    const state = await new ControlTable(target.clients.doc, target.resources.controlTable).state();
    expect(state).toMatchObject({ desired: 'STOPPED', emergency: true, reason: 'bad data suspected', requestedBy: 'jest' });
    const held = await chunksDone('emergency/c.jsonl');
    await sleep(2500);
    expect(await chunksDone('emergency/c.jsonl')).toBe(held); // late results of revoked leases are refused

    expect((await control('resume')).status).toBe('SUCCEEDED');
    const done = await completeExactly('emergency/c.jsonl', 4000);
    expect(done.recordsRejected).toBe(3);
  }, 240_000);

  it('runs over a prefix already in S3, writes a run manifest, and reports the totals', async () => {
    await put('dataset/one.jsonl', lines('d1', 700, 1));
    await put('dataset/two.jsonl', lines('d2', 500));
    const run = await startExecution(target.clients.sfn, target.resources.runStateMachineArn, { bucket: target.resources.ingestBucket, prefix: 'dataset/' }, { name: 'run-dataset-1' });
    console.log(`run: ${run.status} in ${(run.tookMs / 1000).toFixed(1)} s`, JSON.stringify(run.output));
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ status: 'COMPLETE', objectsListed: 2, recordsIn: 1201, recordsOut: 1200, recordsRejected: 1, failedChunks: 0 });
    const body = await target.clients.s3.send(new GetObjectCommand({ Bucket: target.resources.processedBucket, Key: 'runs/run-dataset-1/manifest.json' }));
    const manifest = JSON.parse(await body.Body!.transformToString()) as RunManifest;
    expect(manifest.totals).toMatchObject({ objects: 2, objectsComplete: 2, recordsIn: 1201 });
    expect(manifest.objects.map((o) => o.key)).toEqual(['dataset/one.jsonl', 'dataset/two.jsonl']);
    for (const o of manifest.objects) expect((await verifyObject(target, o.objectId!)).problems).toEqual([]);

    const bad = await startExecution(target.clients.sfn, target.resources.runStateMachineArn, { prefix: 'dataset/' }, { name: 'run-without-bucket' });
    expect(bad).toMatchObject({ status: 'FAILED', error: 'InvalidInput' });
  }, 240_000);

  it('a config change reaches every agent without restart and shows per node; an invalid one is refused', async () => {
    const store = new ConfigStore(target.clients.doc, target.resources.controlTable);
    const current = await store.get();
    const deployed = env.state.config;
    await expect(store.set({ base: { replicationFactor: 0 }, groups: {} }, { expectedVersion: current.version, deployed, updatedBy: 'jest' })).rejects.toThrow(/replicationFactor/);
    expect((await store.get()).version).toBe(current.version);

    const next = await store.set({ base: { concurrencyPerNode: 1 }, groups: {} }, { expectedVersion: current.version, deployed, updatedBy: 'jest', reason: 'test' });
    const registry = new NodeRegistry(target.clients.doc, target.resources.nodesTable);
    const nodes = await waitFor(async () => {
      const list = await registry.healthy(5000);
      return list.length === 2 && list.every((n) => (n.load as { configVersion?: number })?.configVersion === next.version && n.load?.concurrency === 1) ? list : undefined;
    }, 10_000);
    expect(nodes).toHaveLength(2);
  }, 60_000);

  it("the CLI records the caller's IAM identity apart from the free-text requestedBy", async () => {
    const cli = (...args: string[]) => promisify(execFile)(process.execPath, [...SHARDLINE_FROM_SOURCES, 'control', ...args, '--state-dir', stateDir], { timeout: 120_000 });
    const { stdout } = await cli('resume', '--reason', 'who am I', '--json');
    const result = JSON.parse(stdout) as { status: string; output: { caller: { arn: string } } };
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output.caller.arn).toMatch(/^arn:aws:(sts|iam)::\d{12}:/);
    const [latest] = await new ControlTable(target.clients.doc, target.resources.controlTable).history();
    expect(latest).toMatchObject({ action: 'resume', reason: 'who am I', callerArn: result.output.caller.arn, requestedBy: expect.stringMatching(/shardline CLI/) });
    const history = await cli('history');
    expect(history.stdout).toContain(`[${result.output.caller.arn}]: who am I`);
  }, 240_000);

  it('a rolling restart of every agent during a run loses nothing', async () => {
    await put('rolling/d.jsonl', lines('d', 3000, 2));
    await waitFor(async () => (await chunksDone('rolling/d.jsonl')) >= 1, 60_000);
    for (const [i, agent] of env.agents.entries()) {
      await stopLocalAgent(agent); // SIGTERM: drains in-flight chunks, then leaves
      await env.restartAgent(i + 1, ['--slow-ms', '600']);
    }
    const done = await completeExactly('rolling/d.jsonl', 3000);
    expect(done.recordsRejected).toBe(2);
    expect(done.failedChunks ?? 0).toBe(0);
  }, 240_000);

  it('drain with no agent running fails after a minute of polls with the reason instead of waiting for the timeout', async () => {
    for (const agent of env.agents) await stopLocalAgent(agent);
    const result = await control('drain', 'nobody is running');
    expect(result).toMatchObject({ status: 'FAILED', error: 'NoLeaderAgent' });
    expect(result.cause).toMatch(/is any agent running/);
    expect(result.tookMs).toBeLessThan(5 * 60_000);
    expect((await new ControlTable(target.clients.doc, target.resources.controlTable).state()).desired).toBe('DRAINING'); // recorded all the same
  }, 300_000);
});
