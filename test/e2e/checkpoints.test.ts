import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createAwsClients } from '../../lib/aws/clients';
import { spoolPaths } from '../../lib/checkpoint/layout';
import type { PartStatus } from '../../lib/checkpoint/manifest';
import { CheckpointRegistry } from '../../lib/checkpoint/registry';
import { stopLocalAgent } from '../../local/agent-processes';
import { startLocalEnvironment, type LocalEnvironment } from '../../local/environment';
import { waitFor } from '../support/wait';

const JOB = 'e2e-llm';
/** Bytes per rank and step: 24 MiB here (the 200 MB scaled to a shared 2-core machine). */
const SIZE = 24 * 1024 * 1024;
const PYTHONPATH = resolve(__dirname, '..', '..', 'clients', 'python');

/**
 * A "training process" of one rank: saves `steps` with a deterministic ~SIZE model file each and
 * prints one JSON line per save (step, sha256, save seconds); with `die`, SIGKILLs itself as soon
 * as the last save() returned.
 */
const TRAIN = `
import hashlib, json, os, random, signal, sys
from shardline.checkpoint import Checkpointer
steps, size, die = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "die"
ck = Checkpointer("${JOB}")
for step in steps:
    data = random.Random(step * 100 + ck.rank).randbytes(size)
    h = ck.save(step, {"model.pt": data, "meta.json": json.dumps({"step": step, "rank": ck.rank}).encode()}, metadata={"loss": 1.0 / (step + 1)})
    print(json.dumps({"step": step, "rank": ck.rank, "sha256": hashlib.sha256(data).hexdigest(), "save_seconds": h.save_seconds}), flush=True)
if die:
    os.kill(os.getpid(), signal.SIGKILL)
`;

/** Another host: no agent, no local copy; finds and restores through the registry and S3. */
const RESTORE = `
import hashlib, json, sys
from shardline.checkpoint import Checkpointer
ck = Checkpointer("${JOB}", rank=0, world_size=2, spool_dir=sys.argv[1])
latest = ck.latest()
paths = ck.restore(dest=sys.argv[2], all_ranks=True)
print(json.dumps({"latest": latest, "steps": [s["step"] for s in ck.list()], "sha256": {r: hashlib.sha256(open(p["model.pt"], "rb").read()).hexdigest() for r, p in paths.items()}, "sources": sorted({f["source"] for f in ck.last_restore})}))
`;

interface Saved {
  step: number;
  rank: number;
  sha256: string;
  save_seconds: number;
}

/**
 * Two ranks on two agent processes (two "hosts" of the local environment, each with its own
 * spool), Python training processes saving through `shardline.checkpoint`, a third "host"
 * restoring. Moto stands in for AWS.
 */
describe('checkpoints end to end (2 ranks on 2 agents, local environment)', () => {
  let env: LocalEnvironment;
  let registry: CheckpointRegistry;
  let root: string;
  let pyEnv: NodeJS.ProcessEnv;
  const saved: Saved[] = [];

  const spoolOf = (rank: number) => env.agents[rank].checkpointDir;
  const statusOf = async (rank: number, step: number) => JSON.parse(await readFile(join(spoolOf(rank), spoolPaths.status(JOB, step, rank)), 'utf8').catch(() => '{}')) as Partial<PartStatus>;
  const complete = (step: number) => waitFor(async () => ((await registry.latest(JOB))?.step ?? -1) >= step || undefined, 90_000, 200);

  /** Runs the training script of `rank` on its host; resolves with its saves (and how it exited). */
  const train = (rank: number, steps: number[], opts: { die?: boolean } = {}) =>
    new Promise<{ saves: Saved[]; signal: NodeJS.Signals | null }>((done, fail) => {
      const child = spawn('python3', ['-c', TRAIN, JSON.stringify(steps), String(SIZE), opts.die ? 'die' : 'live'], {
        env: { ...pyEnv, RANK: String(rank), WORLD_SIZE: '2', SHARDLINE_CHECKPOINT_DIR: spoolOf(rank) },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      child.on('error', fail);
      child.on('exit', (code, signal) => {
        if (code !== 0 && signal !== 'SIGKILL') return fail(new Error(`rank ${rank} exited ${code}: ${err}`));
        const saves = out
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Saved);
        saved.push(...saves);
        done({ saves, signal });
      });
    });

  const restoreElsewhere = async (name: string) => {
    const { stdout } = await promisify(execFile)('python3', ['-c', RESTORE, join(root, `${name}-spool`), join(root, name)], { env: pyEnv, timeout: 120_000 });
    return JSON.parse(stdout) as { latest: number; steps: number[]; sha256: Record<string, string>; sources: string[] };
  };
  const shaOf = (step: number, rank: number) => saved.find((s) => s.step === step && s.rank === rank)?.sha256;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardline-ckpt-e2e-'));
    // A bandwidth cap on checkpoint uploads makes each 24 MiB part take ~3 s, so an agent can be killed mid-upload.
    env = await startLocalEnvironment({ agents: 2, stateDir: join(root, 'state'), agentArgs: ['--checkpoint-rate', '8MB/s'] });
    registry = new CheckpointRegistry(createAwsClients({ endpoint: env.state.endpoint, region: env.state.region }).doc, env.state.resources.ledgerTable);
    pyEnv = {
      ...process.env,
      PYTHONPATH,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_DEFAULT_REGION: env.state.region,
      AWS_ENDPOINT_URL: env.state.endpoint,
      SHARDLINE_PROCESSED_BUCKET: env.state.resources.processedBucket,
      SHARDLINE_LEDGER_TABLE: env.state.resources.ledgerTable,
    };
    // Each agent tells its host's training processes where things are once its uploader runs.
    await waitFor(async () => [0, 1].every((r) => existsSync(join(spoolOf(r), 'agent.json'))) || undefined, 60_000, 200);
  });

  afterAll(async () => {
    await env?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('saves three steps on two hosts; latest() is the third; another host restores identical bytes', async () => {
    const runs = await Promise.all([0, 1].map((rank) => train(rank, [100, 200, 300])));
    expect(runs.map((r) => r.saves.map((s) => s.step))).toEqual([
      [100, 200, 300],
      [100, 200, 300],
    ]);
    await complete(300);
    const restored = await restoreElsewhere('restore-a');
    expect(restored.latest).toBe(300);
    expect(restored.steps).toEqual([100, 200, 300]);
    expect(restored.sha256).toEqual({ 0: shaOf(300, 0), 1: shaOf(300, 1) });
    expect(restored.sources).toEqual(['s3']);
    const saveSeconds = saved.map((s) => s.save_seconds);
    console.log(`save() of ${SIZE / 2 ** 20} MiB per rank: ${Math.min(...saveSeconds).toFixed(3)}-${Math.max(...saveSeconds).toFixed(3)} s`);
  });

  it('finishes a step after the agent uploading it is SIGKILLed mid-upload and restarted', async () => {
    await train(0, [400]);
    await waitFor(async () => (await statusOf(0, 400)).state === 'UPLOADING' || undefined, 30_000, 50);
    await new Promise((r) => setTimeout(r, 700)); // part of the 24 MiB is sent, at 8 MB/s
    env.agents[0].process.kill('SIGKILL');
    await new Promise((r) => env.agents[0].process.once('exit', r));
    expect((await statusOf(0, 400)).state).toBe('UPLOADING');
    await train(1, [400]);
    await waitFor(async () => (await statusOf(1, 400)).state === 'DURABLE' || undefined, 60_000, 200);
    expect((await registry.latest(JOB))?.step).toBe(300); // rank 0's part is not durable: no commit

    await env.restartAgent(1); // the same host: same node id, same spool
    await complete(400);
    // Rank 0 was the last: its agent committed, then says so in its spool (just after the registry).
    await waitFor(async () => (await statusOf(0, 400)).state === 'COMPLETE' || undefined, 30_000, 100);
    const restored = await restoreElsewhere('restore-b');
    expect(restored.sha256).toEqual({ 0: shaOf(400, 0), 1: shaOf(400, 1) });
  });

  it('makes a step durable although every training process died right after save() returned', async () => {
    const runs = await Promise.all([0, 1].map((rank) => train(rank, [500], { die: true })));
    expect(runs.map((r) => r.signal)).toEqual(['SIGKILL', 'SIGKILL']);
    await complete(500);
    const restored = await restoreElsewhere('restore-c');
    expect(restored.latest).toBe(500);
    expect(restored.sha256).toEqual({ 0: shaOf(500, 0), 1: shaOf(500, 1) });
  });

  it('never completes a step one rank never saves', async () => {
    await train(0, [600]);
    await waitFor(async () => (await statusOf(0, 600)).state === 'DURABLE' || undefined, 60_000, 200);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await registry.latest(JOB))?.step).toBe(500);
    expect((await registry.step(JOB, 600))?.state).toBe('PENDING');
  });

  it('drains an agent with SIGTERM without losing a part handed off to it', async () => {
    await train(1, [600]);
    await stopLocalAgent(env.agents[1]);
    await env.restartAgent(2);
    await complete(600);
  });
});
