/**
 * Checkpoint benchmark (issue 14), in one run, peers measured alongside (interleaved, best of --runs):
 *
 * - save() blocking time: `Checkpointer.save(step, {"model.pt": path})` (Python, the client
 *   training jobs use) of a --size file, against `cp` of the same file on the same disk
 *   (target ≤ 2×); and save() of the same bytes held in memory against a plain Python write;
 * - time to durable: from save() returning to `wait_durable()` returning — the agent's uploader
 *   (lib/checkpoint, in this process; save() signals the hand-off) picks the part up, uploads it in
 *   parallel multipart parts with sha256 per part and per file, checks it in S3 and registers it
 *   DURABLE (a DynamoDB transaction) — against `aws s3 cp` of the same bytes to the same endpoint
 *   (target ≤ 1.2×; boto3's upload_file if the aws CLI is absent).
 *
 * The endpoint is a moto server started here (python3 -m moto.server): a single Python process, so
 * its ~85 MB/s PUT rate, not the network, bounds both uploaders.
 *
 *   npm run bench:checkpoint [-- --size 1GiB] [--upload-size 512MiB] [--runs 3] [--json]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { realClock } from '../lib/agent/clock';
import { createAwsClients } from '../lib/aws/clients';
import { wireCheckpointUploader } from '../lib/checkpoint/agent-part';
import { deleteAllVersions } from '../lib/checkpoint/s3-objects';
import { formatBytes, parseSize } from '../lib/units';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const SIZE = parseSize(arg('size', '1GiB'));
const UPLOAD_SIZE = parseSize(arg('upload-size', '512MiB'));
const RUNS = Number(arg('runs', '3'));
const JSON_OUT = args.includes('--json');
const TARGETS = { saveVsCp: 2, durableVsAwsCli: 1.2 };
const PYTHONPATH = resolve(__dirname, '..', 'clients', 'python');
const say = (line: string) => !JSON_OUT && console.log(line);
const best = (xs: number[]) => Math.min(...xs);

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'shardline-bench-ckpt-'));
  let moto: ChildProcess | undefined;
  let stopUploader: (() => Promise<void>) | undefined;
  try {
    say(`checkpoint benchmark: save ${formatBytes(SIZE)}, upload ${formatBytes(UPLOAD_SIZE)}, best of ${RUNS}; load ${loadavg()[0].toFixed(2)} on this host`);
    const src = join(root, 'model.pt');
    await writeRandomFile(src, SIZE);
    const spool = join(root, 'spool');

    // 1. save() blocking time against cp, on the same disk, interleaved.
    // Each one starts with no dirty pages left by the other (sync), in alternating order.
    const cp: number[] = [];
    const save: number[] = [];
    const timeCp = async (run: number) => {
      const dst = join(root, `copy-${run}`);
      spawnSync('sync');
      const started = process.hrtime.bigint();
      const r = spawnSync('cp', [src, dst]);
      if (r.status !== 0) throw new Error(`cp failed: ${r.stderr}`);
      cp.push(Number(process.hrtime.bigint() - started) / 1e9);
      await rm(dst);
    };
    const timeSave = async (run: number) => {
      spawnSync('sync');
      save.push(pythonJson<{ save: number }>(SAVE_SCRIPT, [spool, src, String(run)]).save);
      await rm(join(spool, 'bench'), { recursive: true, force: true });
    };
    for (let run = 0; run < RUNS; run++) {
      for (const measure of run % 2 === 0 ? [timeCp, timeSave] : [timeSave, timeCp]) await measure(run);
    }
    const memory = pythonJson<{ save: number; write: number }>(SAVE_BYTES_SCRIPT, [spool, String(Math.min(SIZE, 512 * 2 ** 20)), join(root, 'plain.bin'), String(RUNS)]);
    await rm(join(spool, 'bench-bytes'), { recursive: true, force: true });
    const saveRatio = best(save) / best(cp);
    say(`save() of a ${formatBytes(SIZE)} file: ${best(save).toFixed(3)} s; cp: ${best(cp).toFixed(3)} s; ratio ${saveRatio.toFixed(2)}× (target ≤ ${TARGETS.saveVsCp}×)`);
    say(
      `save() of ${formatBytes(Math.min(SIZE, 512 * 2 ** 20))} of bytes in memory: ${memory.save.toFixed(3)} s; a plain Python write: ${memory.write.toFixed(3)} s; ratio ${(memory.save / memory.write).toFixed(2)}×`,
    );

    // 2. Time to durable against aws s3 cp, same bytes, same endpoint.
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    moto = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    await waitForEndpoint(endpoint);
    // The emulator takes any credentials; the SDK here and the peer's both read them from the environment.
    const env = Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_DEFAULT_REGION: 'us-east-1', AWS_ENDPOINT_URL: endpoint });
    const clients = createAwsClients({ endpoint, region: 'us-east-1' });
    const bucket = 'bench-processed';
    const table = 'bench-ledger';
    await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await clients.s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await clients.ddb.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const upSrc = join(root, 'upload.bin');
    await writeRandomFile(upSrc, UPLOAD_SIZE);
    const uploads: Array<{ uploadMs: number; msToDurable: number }> = [];
    const uploader = wireCheckpointUploader(
      { s3: clients.s3, doc: clients.doc, bucket, ledgerTable: table, node: 'bench', clock: realClock, log: () => undefined },
      { dir: spool, endpoint, onDurable: (e) => uploads.push({ uploadMs: e.uploadMs, msToDurable: e.msToDurable }) },
    );
    await uploader.start();
    stopUploader = () => uploader.stop();
    const aws = awsCli();
    const durable: number[] = [];
    const peer: number[] = [];
    // Both start right after the bytes were written (a checkpoint just saved: its pages still dirty),
    // in alternating order, each after a sync.
    const timePeer = async (run: number) => {
      const fresh = join(root, `fresh-${run}.bin`);
      spawnSync('sync');
      spawnSync('cp', [upSrc, fresh]);
      const started = process.hrtime.bigint();
      const r = aws
        ? spawnSync(aws, ['s3', 'cp', fresh, `s3://${bucket}/peer/${run}.bin`, '--endpoint-url', endpoint, '--only-show-errors'], { env })
        : spawnSync('python3', ['-c', BOTO3_UPLOAD, fresh, bucket, `peer/${run}.bin`], { env });
      if (r.status !== 0) throw new Error(`peer upload failed: ${r.stderr}`);
      peer.push(Number(process.hrtime.bigint() - started) / 1e9);
      await rm(fresh);
      await deleteAllVersions(clients.s3, bucket, 'peer/');
    };
    const timeDurable = async (run: number) => {
      spawnSync('sync');
      // Not spawnSync: the uploader runs on this process's event loop meanwhile.
      durable.push((await pythonJsonAsync<{ durable: number }>(DURABLE_SCRIPT, [spool, upSrc, String(run)], env)).durable);
      await deleteAllVersions(clients.s3, bucket, 'checkpoints/');
    };
    for (let run = 0; run < RUNS; run++) {
      for (const measure of run % 2 === 0 ? [timePeer, timeDurable] : [timeDurable, timePeer]) await measure(run);
    }
    const durableRatio = best(durable) / best(peer);
    const fastest = uploads[durable.indexOf(best(durable))];
    const peerName = aws ? 'aws s3 cp' : 'boto3 upload_file';
    say(
      `time to durable of ${formatBytes(UPLOAD_SIZE)} after save(): ${best(durable).toFixed(3)} s; ${peerName}: ${best(peer).toFixed(3)} s; ratio ${durableRatio.toFixed(2)}× (target ≤ ${TARGETS.durableVsAwsCli}×)`,
    );
    say(
      `  (save() signals the hand-off, so the agent starts at once; ${(UPLOAD_SIZE / 1e6 / best(durable)).toFixed(0)} MB/s to durable vs ${(UPLOAD_SIZE / 1e6 / best(peer)).toFixed(0)} MB/s; the upload, checks and registration ${fastest ? (fastest.uploadMs / 1000).toFixed(3) : '?'} s of it)`,
    );
    say(`  runs: to durable ${durable.map((x) => x.toFixed(3)).join(' ')}; ${peerName} ${peer.map((x) => x.toFixed(3)).join(' ')}`);
    if (JSON_OUT)
      console.log(
        JSON.stringify(
          {
            sizes: { save: SIZE, upload: UPLOAD_SIZE },
            runs: RUNS,
            save: { seconds: save, cpSeconds: cp, ratio: saveRatio, memory },
            durable: { seconds: durable, peer: peerName, peerSeconds: peer, ratio: durableRatio },
            targets: TARGETS,
            load: loadavg()[0],
          },
          null,
          2,
        ),
      );
  } finally {
    await stopUploader?.();
    moto?.kill('SIGTERM');
    await rm(root, { recursive: true, force: true });
  }
}

const SAVE_SCRIPT = `
import json, sys
from shardline.checkpoint import Checkpointer
h = Checkpointer("bench", rank=0, world_size=1, spool_dir=sys.argv[1]).save(int(sys.argv[3]), {"model.pt": sys.argv[2]})
print(json.dumps({"save": h.save_seconds}))
`;

const SAVE_BYTES_SCRIPT = `
import json, os, sys, time
from shardline.checkpoint import Checkpointer
data = os.urandom(int(sys.argv[2]))
ck = Checkpointer("bench-bytes", rank=0, world_size=1, spool_dir=sys.argv[1])
saves, writes = [], []
def write():
    os.sync()
    t = time.perf_counter()
    with open(sys.argv[3], "wb") as f:
        f.write(data)
    writes.append(time.perf_counter() - t)
    os.remove(sys.argv[3])
def save(run):
    os.sync()
    h = ck.save(run, {"model.pt": data})
    saves.append(h.save_seconds)
    os.remove(os.path.join(h.path, "model.pt"))
for run in range(int(sys.argv[4])):
    for measure in ([write, lambda: save(run)] if run % 2 == 0 else [lambda: save(run), write]):
        measure()
print(json.dumps({"save": min(saves), "write": min(writes)}))
`;

const DURABLE_SCRIPT = `
import json, sys, time
from shardline.checkpoint import Checkpointer
h = Checkpointer("bench-durable", rank=0, world_size=1, spool_dir=sys.argv[1]).save(int(sys.argv[3]), {"model.pt": sys.argv[2]})
t = time.perf_counter()
h.wait_durable(timeout=600, poll_interval=0.01)
print(json.dumps({"save": h.save_seconds, "durable": time.perf_counter() - t}))
`;

const BOTO3_UPLOAD = `
import os, sys, boto3
boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).upload_file(sys.argv[1], sys.argv[2], sys.argv[3])
`;

function pythonJson<T>(script: string, argv: string[], env: NodeJS.ProcessEnv = process.env): T {
  const r = spawnSync('python3', ['-c', script, ...argv], { env: { ...env, PYTHONPATH }, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

function pythonJsonAsync<T>(script: string, argv: string[], env: NodeJS.ProcessEnv): Promise<T> {
  return new Promise((done, fail) => {
    const child = spawn('python3', ['-c', script, ...argv], { env: { ...env, PYTHONPATH } });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? done(JSON.parse(out) as T) : fail(new Error(`python3 failed: ${err}`))));
  });
}

function awsCli(): string | undefined {
  const r = spawnSync('aws', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'aws' : undefined;
}

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  await mkdir(resolve(path, '..'), { recursive: true });
  const out = createWriteStream(path);
  const BLOCK = 8 * 2 ** 20;
  for (let left = bytes; left > 0; left -= BLOCK) {
    if (!out.write(randomBytes(Math.min(BLOCK, left)))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((err?: Error | null) => (err ? j(err) : r())));
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => done(port));
    });
  });
}

async function waitForEndpoint(endpoint: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await fetch(`${endpoint}/moto-api/`);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error('moto server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
