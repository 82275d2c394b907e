import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { handleChunkMessage, type ChunkWorkerDeps } from '../../lib/agent/chunk-worker';
import { ReplicaPuller } from '../../lib/agent/replica-puller';
import { chunkObject, handleIngestEvent } from '../../lib/chunker/chunker';
import { startExecution } from '../../lib/control/executions';
import { writeLocalState } from '../../lib/aws/local-state';
import { parsePipelineConfig } from '../../lib/config/pipeline-config';
import { ConfigStore } from '../../lib/control/config-store';
import { IndexRefusedError } from '../../lib/dataset/build-index';
import { buildRunIndex, createDatasetIndex, type DatasetDeps } from '../../lib/dataset/create-index';
import type { DatasetIndex } from '../../lib/dataset/index-format';
import { indexVersions, listDatasets, readIndex } from '../../lib/dataset/index-store';
import { ChunkLedger } from '../../lib/ledger/chunk-ledger';
import type { ObjectManifest } from '../../lib/ledger/manifest';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { RunLedger, runManifestKey, settleRuns, type RunItem, type RunManifest } from '../../lib/ledger/run-ledger';
import { SHARDLINE_FROM_SOURCES } from '../support/cli';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';
import { waitFor } from '../support/wait';

const NODES = ['node-a', 'node-b', 'node-c'].map((nodeId, i) => ({ nodeId, failureDomain: `az-${i}`, capacity: 1 }));
const config = parsePipelineConfig({ chunkSizeBytes: 4096, replicationFactor: 2 });

/** `valid` JSON records (ids `<tag>#<i>`) with 2 invalid lines among them: about 3 chunks of 4 KiB. */
function jsonl(tag: string, valid: number): { body: string; ids: string[] } {
  const ids: string[] = [];
  const lines: string[] = [];
  for (let i = 0; i < valid; i++) {
    ids.push(`${tag}#${i}`);
    lines.push(JSON.stringify({ id: `${tag}#${i}`, text: `record ${i} of ${tag} ✓ ${'x'.repeat(i % 40)}` }));
    if (i === 10) lines.push('{"id": broken');
    if (i === 90) lines.push('[1, 2]');
  }
  return { body: lines.join('\n') + '\n', ids };
}

/**
 * Builds indexes from objects taken through the real chunker and chunk worker (ledger, shards,
 * manifests, replica items) and a real replica pull on one node, against a local endpoint.
 */
describe('dataset index (chunker and agent path, local endpoint)', () => {
  let env: ProvisionedEndpoint;
  let deps: DatasetDeps;
  let cacheDir: string;
  const ids = new Map<string, string[]>();

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
    deps = { s3: env.clients.s3, doc: env.clients.doc, ...env.resources };
    cacheDir = await mkdtemp(join(tmpdir(), 'shardline-index-cache-'));
  }, 60_000);
  afterAll(async () => {
    await env?.server.stop();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  const objects = () => new ObjectLedger(env.clients.doc, env.resources.ledgerTable);
  const runs = () => new RunLedger(env.clients.doc, env.resources.ledgerTable, env.resources.controlTable);
  const worker = (nodes = NODES): ChunkWorkerDeps => ({
    s3: env.clients.s3,
    sqs: env.clients.sqs,
    chunks: new ChunkLedger(env.clients.doc, env.resources.ledgerTable),
    objects: objects(),
    workQueueUrl: env.resources.workQueueUrl,
    processedBucket: env.resources.processedBucket,
    nodeId: 'node-a',
    config,
    placementNodes: async () => nodes,
    log: () => undefined,
  });

  /** Uploads `key` and plans it (as part of `runId`, if given); returns its object id. */
  async function upload(key: string, valid: number, runId?: string): Promise<string> {
    const { body, ids: recordIds } = jsonl(`${key}@${runId ?? 'ingest'}`, valid);
    const put = await env.clients.s3.send(new PutObjectCommand({ Bucket: env.resources.ingestBucket, Key: key, Body: body }));
    const planned = await chunkObject(
      { s3: env.clients.s3, sqs: env.clients.sqs, objects: objects(), runs: runs(), workQueueUrl: env.resources.workQueueUrl, processedBucket: env.resources.processedBucket, config },
      { bucket: env.resources.ingestBucket, key, versionId: put.VersionId, eventName: 'ObjectCreated:Put', runId },
    );
    ids.set(planned.objectId as string, recordIds);
    return planned.objectId as string;
  }

  /** Works the queued chunks, as an agent does, placing shards on `nodes`, until every object given is COMPLETE. */
  async function processAll(objectIds: string[], nodes = NODES): Promise<void> {
    await waitFor(
      async () => {
        const out = await env.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: env.resources.workQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['All'] }));
        for (const m of out.Messages ?? []) await handleChunkMessage(worker(nodes), m);
        const items = await Promise.all(objectIds.map((id) => objects().get(id)));
        return items.every((o) => o?.status === 'COMPLETE');
      },
      60_000,
      20,
    );
  }

  async function ingest(key: string, valid: number, runId?: string, nodes = NODES): Promise<string> {
    const objectId = await upload(key, valid, runId);
    await processAll([objectId], nodes);
    return objectId;
  }

  async function manifestOf(objectId: string): Promise<ObjectManifest> {
    const o = await objects().get(objectId);
    const out = await env.clients.s3.send(new GetObjectCommand({ Bucket: env.resources.processedBucket, Key: o?.manifestKey }));
    return JSON.parse(await out.Body!.transformToString()) as ObjectManifest;
  }

  async function refusal(promise: Promise<unknown>): Promise<IndexRefusedError> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IndexRefusedError);
    return err as IndexRefusedError;
  }

  it('indexes a prefix: objects by key, shards by chunk, exact counts, holders, lineage and config version', async () => {
    // a's shards are placed on node-a and node-b, b's on node-b and node-c (R = 2 of 2 nodes).
    const b = await ingest('ds/b.jsonl', 150, undefined, [NODES[1], NODES[2]]);
    const a = await ingest('ds/a.jsonl', 120, undefined, [NODES[0], NODES[1]]);
    await ingest('elsewhere/c.jsonl', 30);
    // node-a pulls what placement gave it: a's shards are PRESENT there, b's only placed.
    await new ReplicaPuller({
      s3: env.clients.s3,
      doc: env.clients.doc,
      ledgerTable: env.resources.ledgerTable,
      processedBucket: env.resources.processedBucket,
      nodeId: 'node-a',
      cacheDir,
      log: () => undefined,
    }).pullOnce();
    await new ConfigStore(env.clients.doc, env.resources.controlTable).set({ base: { concurrencyPerNode: 6 }, groups: {} }, { expectedVersion: 0, deployed: config, updatedBy: 'test' });

    const { index, key } = await createDatasetIndex(deps, { name: 'train', source: { kind: 'prefix', prefix: 'ds/' } });

    expect(key).toBe('indexes/train/1.json');
    expect(index).toMatchObject({ format: 'shardline.index/v1', name: 'train', version: 1, configVersion: 1, source: { kind: 'prefix', prefix: 'ds/' }, records: 270 });
    const [ma, mb] = [await manifestOf(a), await manifestOf(b)];
    for (const [o, m, records] of [
      [index.objects[0], ma, 120],
      [index.objects[1], mb, 150],
    ] as const) {
      const head = await env.clients.s3.send(new HeadObjectCommand({ Bucket: env.resources.ingestBucket, Key: m.source.key }));
      expect(o).toEqual({
        objectId: m.objectId,
        bucket: env.resources.ingestBucket,
        key: m.source.key,
        versionId: head.VersionId,
        etag: head.ETag?.replace(/"/g, ''),
        manifestKey: `manifests/${m.objectId}.json`,
        records,
      });
    }
    // Shards: a's chunks in order, then b's, numbered 0..n-1.
    const expected = [...ma.shards.map((s) => [a, s]), ...mb.shards.map((s) => [b, s])] as Array<[string, ObjectManifest['shards'][number]]>;
    expect(ma.shards.length).toBeGreaterThan(1);
    expect(index.shards.map((s) => [s.ordinal, s.objectId, s.key])).toEqual(expected.map(([id, s], i) => [i, id, s.key]));
    for (const [i, [id, s]] of expected.entries()) {
      // PRESENT replicas when there are any (a's: only node-a pulled), else the placement (b's).
      const holders = id === a ? ['node-a'] : ['node-b', 'node-c'];
      expect(s.replicas.length).toBe(2);
      expect(index.shards[i]).toMatchObject({ bucket: env.resources.processedBucket, codec: 'gzip', sha256: s.sha256, bytes: s.bytes, records: s.records, holders });
    }
    // The shards hold exactly the valid records, each once, and match their sha256.
    const seen: string[] = [];
    for (const s of index.shards) {
      const body = Buffer.from(await (await env.clients.s3.send(new GetObjectCommand({ Bucket: s.bucket, Key: s.key }))).Body!.transformToByteArray());
      expect(createHash('sha256').update(body).digest('hex')).toBe(s.sha256);
      const lines = gunzipSync(body).toString('utf8').split('\n').filter(Boolean);
      expect(lines).toHaveLength(s.records);
      seen.push(...lines.map((l) => (JSON.parse(l) as { id: string }).id));
    }
    expect(seen.sort()).toEqual([...(ids.get(a) as string[]), ...(ids.get(b) as string[])].sort());
    expect(await readIndex(deps, 'train', 1)).toEqual(index);
  }, 120_000);

  it('gives each build the next version of its name, and concurrent builders never overwrite one another', async () => {
    const stamps = ['2026-03-01T00:00:00.000Z', '2026-03-02T00:00:00.000Z', '2026-03-03T00:00:00.000Z'];
    const builds = await Promise.all(stamps.map((t) => createDatasetIndex(deps, { name: 'train', source: { kind: 'prefix', prefix: 'ds/' }, now: () => new Date(t) })));

    expect(builds.map((b) => b.index.version).sort()).toEqual([2, 3, 4]);
    for (const b of builds) expect(await readIndex(deps, 'train', b.index.version)).toEqual(b.index); // each version is what its builder wrote
    expect(await indexVersions(deps, 'train')).toEqual([1, 2, 3, 4]);
    expect((await createDatasetIndex(deps, { name: 'eval', source: { kind: 'objects', objects: ['ds/b.jsonl'] } })).index).toMatchObject({ version: 1, records: 150 });
    expect((await listDatasets(deps)).map((d) => [d.name, d.versions, d.latest.records, d.latest.source])).toEqual([
      ['eval', [1], 150, 'objects:1'],
      ['train', [1, 2, 3, 4], 270, 'prefix:ds/'],
    ]);
  }, 120_000);

  it('refuses objects that are not COMPLETE, keys never ingested and sources that match nothing, and stores nothing', async () => {
    const pending = await upload('ds/pending.jsonl', 50); // planned, not processed yet

    const err = await refusal(createDatasetIndex(deps, { name: 'refused', source: { kind: 'prefix', prefix: 'ds/' } }));
    expect(err.problems).toEqual([expect.stringMatching(new RegExp(`ds/pending\\.jsonl \\(${pending}\\) is ENQUEUED \\(0 of \\d+ chunks done\\)`))]);
    expect((await refusal(createDatasetIndex(deps, { name: 'refused', source: { kind: 'objects', objects: ['ds/a.jsonl', 'ds/pending.jsonl'] } }))).problems).toHaveLength(1);
    expect((await refusal(createDatasetIndex(deps, { name: 'refused', source: { kind: 'objects', objects: ['ds/a.jsonl', 'never.jsonl'] } }))).problems).toEqual([
      "no object with source key 'never.jsonl' was ingested",
    ]);
    expect((await refusal(createDatasetIndex(deps, { name: 'refused', source: { kind: 'prefix', prefix: 'nothing/' } }))).message).toMatch(/^nothing to index/);
    expect((await refusal(createDatasetIndex(deps, { name: 'refused', source: { kind: 'run', runId: 'no-such-run' } }))).message).toMatch(/no run 'no-such-run'/);
    await expect(createDatasetIndex(deps, { name: 'bad name', source: { kind: 'prefix', prefix: 'ds/' } })).rejects.toThrow(/invalid dataset name/);
    expect(await indexVersions(deps, 'refused')).toEqual([]);

    await processAll([pending]);
    expect((await createDatasetIndex(deps, { name: 'refused', source: { kind: 'prefix', prefix: 'ds/' } })).index).toMatchObject({ version: 1, records: 320 });
  }, 120_000);

  it('takes only the newest version of a key that was uploaded again', async () => {
    const before = await readIndex(deps, 'refused', 1);
    const newer = await ingest('ds/a.jsonl', 40);

    const { index } = await createDatasetIndex(deps, { name: 'refused', source: { kind: 'prefix', prefix: 'ds/' } });

    const a = index.objects.filter((o) => o.key === 'ds/a.jsonl');
    expect(a).toEqual([expect.objectContaining({ objectId: newer, records: 40 })]);
    expect(a[0].versionId).not.toBe(before.objects.find((o) => o.key === 'ds/a.jsonl')?.versionId);
    expect(index.records).toBe(before.records - 120 + 40);
  }, 120_000);

  it('builds the index a run asked for when the leader settles the run, once', async () => {
    const runId = 'run-with-index';
    const members = [await upload('rundata/one.jsonl', 60, runId), await upload('rundata/two.jsonl', 25, runId)];
    // The run item as the run state machine records it from { bucket, prefix, index: { name } }.
    const run: RunItem = {
      pk: 'RUN',
      sk: runId,
      runId,
      bucket: env.resources.ingestBucket,
      prefix: 'rundata/',
      status: 'RUNNING',
      objectsListed: 2,
      listingComplete: true,
      index: { name: 'from-run' },
    };
    await env.clients.doc.send(new PutCommand({ TableName: env.resources.controlTable, Item: run }));
    const leader: Parameters<typeof settleRuns>[0] = { runs: runs(), s3: env.clients.s3, processedBucket: env.resources.processedBucket, buildIndex: (r, m, o) => buildRunIndex(deps, r, m, o) };

    expect(await settleRuns(leader)).toBe(0); // members not processed yet
    expect(await indexVersions(deps, 'from-run')).toEqual([]);
    await processAll(members);
    expect(await settleRuns(leader)).toBe(1);

    const settled = await runs().get(runId);
    expect(settled).toMatchObject({ status: 'COMPLETE', indexVersion: 1, indexKey: 'indexes/from-run/1.json' });
    const manifest = JSON.parse(
      await (await env.clients.s3.send(new GetObjectCommand({ Bucket: env.resources.processedBucket, Key: runManifestKey(runId) }))).Body!.transformToString(),
    ) as RunManifest;
    expect(manifest.index).toEqual({ name: 'from-run', version: 1, key: 'indexes/from-run/1.json' });
    const index: DatasetIndex = await readIndex(deps, 'from-run');
    expect(index).toMatchObject({ version: 1, source: { kind: 'run', runId }, records: 85 });
    expect(index.objects.map((o) => [o.key, o.objectId])).toEqual([
      ['rundata/one.jsonl', members[0]],
      ['rundata/two.jsonl', members[1]],
    ]);

    // A leader that stored the index and died before settling: the next one reuses that version.
    expect(await buildRunIndex(deps, { ...run, status: 'RUNNING' }, await runs().members(runId), await runs().objectsOf(await runs().members(runId)))).toEqual(manifest.index);
    expect(await settleRuns(leader)).toBe(0);
    expect(await indexVersions(deps, 'from-run')).toEqual([1]);
    // The CLI's path: a settled run can be indexed again, as a new version.
    expect((await createDatasetIndex(deps, { name: 'from-run', source: { kind: 'run', runId } })).index.version).toBe(2);
  }, 120_000);

  it('settles a run COMPLETE with the reason when its index cannot be built', async () => {
    const runId = 'run-with-bad-index';
    const objectId = await ingest('rundata2/one.jsonl', 10, runId);
    const run: RunItem = {
      pk: 'RUN',
      sk: runId,
      runId,
      bucket: env.resources.ingestBucket,
      prefix: 'rundata2/',
      status: 'RUNNING',
      objectsListed: 1,
      listingComplete: true,
      index: { name: '../escape' },
    };
    await env.clients.doc.send(new PutCommand({ TableName: env.resources.controlTable, Item: run }));

    expect(await settleRuns({ runs: runs(), s3: env.clients.s3, processedBucket: env.resources.processedBucket, buildIndex: (r, m, o) => buildRunIndex(deps, r, m, o) })).toBe(1);

    expect(await runs().get(runId)).toMatchObject({ status: 'COMPLETE', recordsOut: 10, indexError: expect.stringMatching(/invalid dataset name '\.\.\/escape'/) });
    expect(objectId).toBeTruthy();
  }, 60_000);

  it('the CLI builds (and writes --out), lists and shows indexes, and exits 1 with the reasons on a refusal', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'shardline-index-cli-'));
    try {
      await writeLocalState({ endpoint: env.server.endpoint, region: 'us-east-1', resources: env.resources, config, agents: [], stateDir, startedAt: new Date().toISOString() });
      const cli = (...args: string[]) =>
        promisify(execFile)(process.execPath, [...SHARDLINE_FROM_SOURCES, ...args, '--state-dir', stateDir], { timeout: 60_000 }).then(
          (r) => ({ code: 0, ...r }),
          (e: { code: number; stdout: string; stderr: string }) => e,
        );
      const out = join(stateDir, 'out', 'cli.json');

      const built = await cli('dataset', 'index', '--objects', 'ds/b.jsonl', 'rundata/one.jsonl', '--name', 'cli', '--out', out);
      expect(built).toMatchObject({ code: 0, stdout: expect.stringContaining('cli version 1: 210 records in') });
      expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(await readIndex(deps, 'cli', 1));

      const listed = await cli('dataset', 'list');
      expect(listed.stdout).toMatch(/^NAME +LATEST +VERSIONS +RECORDS/);
      expect(listed.stdout).toMatch(/\ncli +v1 +1 +210 /);
      expect(listed.stdout).toMatch(/\ntrain +v4 +1-4 +270 /);
      const shown = await cli('dataset', 'show', 'train', '--version', '1');
      expect(shown.stdout).toContain('train version 1');
      expect(shown.stdout).toContain('config version 1');
      expect(shown.stdout).toContain(`s3://${env.resources.ingestBucket}/ds/a.jsonl`);
      expect(JSON.parse((await cli('dataset', 'show', 'train', '--json')).stdout)).toMatchObject({ version: 4 });

      await upload('ds/late.jsonl', 5);
      const refused = await cli('dataset', 'index', '--prefix', 'ds/', '--name', 'cli');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/shardline: cannot index prefix 'ds\/': 1 object\(s\) not ready:\n {2}- s3:\/\/.*\/ds\/late\.jsonl \(.*\) is ENQUEUED/);
      expect((await cli('dataset', 'index', '--prefix', 'ds/', '--run', 'x', '--name', 'cli')).stderr).toContain('give exactly one of --run RUN_ID, --prefix SOURCE_PREFIX or --objects KEY...');
      expect(await indexVersions(deps, 'cli')).toEqual([1]);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  }, 120_000);

  /**
   * Runs the run state machine (executed by moto) with `input`, playing the chunker and the
   * leader in-process until the execution ends; returns how it ended.
   */
  async function runStateMachine(name: string, input: Record<string, unknown>): Promise<{ status?: string; output?: Record<string, unknown>; error?: string }> {
    const { executionArn } = await startExecution(env.clients.sfn, env.resources.runStateMachineArn, input, { name, wait: false });
    const chunker = { s3: env.clients.s3, sqs: env.clients.sqs, objects: objects(), runs: runs(), workQueueUrl: env.resources.workQueueUrl, processedBucket: env.resources.processedBucket, config };
    return waitFor(
      async () => {
        const events = await env.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: env.resources.ingestEventsQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        for (const m of events.Messages ?? []) {
          // Only the run's listed pages: the uploads' own notifications are not this test's business.
          if (m.Body?.includes('shardlineRun')) await handleIngestEvent(chunker, m.Body);
          await env.clients.sqs.send(new DeleteMessageCommand({ QueueUrl: env.resources.ingestEventsQueueUrl, ReceiptHandle: m.ReceiptHandle }));
        }
        const work = await env.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: env.resources.workQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['All'] }));
        for (const m of work.Messages ?? []) await handleChunkMessage(worker(), m);
        await settleRuns({ runs: runs(), s3: env.clients.s3, processedBucket: env.resources.processedBucket, buildIndex: (r, m, o) => buildRunIndex(deps, r, m, o) });
        const d = await env.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
        return d.status !== 'RUNNING' && { status: d.status, output: d.output ? (JSON.parse(d.output) as Record<string, unknown>) : undefined, error: d.error };
      },
      90_000,
      200,
    );
  }

  it('the run state machine carries an index name to the leader, which builds it as the run settles; the output names it', async () => {
    for (const [key, n] of [
      ['sfn/one.jsonl', 30],
      ['sfn/two.jsonl', 20],
    ] as const)
      await env.clients.s3.send(new PutObjectCommand({ Bucket: env.resources.ingestBucket, Key: key, Body: jsonl(key, n).body }));

    const ok = await runStateMachine('run-sfn-index', { bucket: env.resources.ingestBucket, prefix: 'sfn/', index: { name: 'sfn-run' } });

    expect(ok).toMatchObject({ status: 'SUCCEEDED', output: { status: 'COMPLETE', recordsOut: 50, index: `s3://${env.resources.processedBucket}/indexes/sfn-run/1.json`, indexVersion: 1 } });
    expect(await readIndex(deps, 'sfn-run', 1)).toMatchObject({ source: { kind: 'run', runId: 'run-sfn-index' }, records: 50 });
    expect(await runs().get('run-sfn-index')).toMatchObject({ index: { name: 'sfn-run' }, indexVersion: 1 });

    const plain = await runStateMachine('run-sfn-plain', { bucket: env.resources.ingestBucket, prefix: 'sfn/' });
    expect(plain).toMatchObject({ status: 'SUCCEEDED', output: { status: 'COMPLETE', recordsOut: 50 } });
    expect(plain.output).not.toHaveProperty('index');

    expect(await runStateMachine('run-sfn-bad-name', { bucket: env.resources.ingestBucket, prefix: 'sfn/', index: { name: '../x' } })).toMatchObject({ status: 'FAILED', error: 'IndexFailed' });
    expect(await runStateMachine('run-sfn-no-name', { bucket: env.resources.ingestBucket, prefix: 'sfn/', index: {} })).toMatchObject({ status: 'FAILED', error: 'InvalidInput' });
    expect(await indexVersions(deps, 'sfn-run')).toEqual([1]);
  }, 180_000);
});
