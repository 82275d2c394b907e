import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAwsClients } from '../lib/aws/clients';
import { chunkIdOf } from '../lib/chunking/chunk';
import type { Target } from '../lib/aws/target';
import { LeaderLease } from '../lib/cluster/leader-lease';
import { NodeRegistry } from '../lib/cluster/registry';
import { ingestPath } from '../lib/ingest/ingest-path';
import { ObjectLedger } from '../lib/ledger/object-ledger';
import type { ObjectItem } from '../lib/ledger/items';
import { generateJsonlDataset } from './dataset';
import { startLocalEnvironment, type LocalEnvironment } from './environment';
import { listKeys } from '../lib/storage/list-keys';
import { ChunkLedger } from '../lib/ledger/chunk-ledger';
import { presentReplicas, readManifest, verifyObject } from './verify';
import { joinNode, leaveNode, type JoinRecord, type LeaveRecord, type MembershipContext } from './membership-actions';

export interface ChaosOptions {
  agents: number;
  /** Agents to SIGKILL while data flows (the first one is the leader). */
  kill: number;
  /** Agents to SIGSTOP for `pauseMs`, then SIGCONT (zombies whose late commits must be refused). */
  pause?: number;
  pauseMs?: number;
  /** Agents to SIGTERM while data flows (a clean leave: their replicas are handed off). */
  leave?: number;
  /** New agents to start while data flows (a join: the leader moves to them the shards whose placement changed). */
  join?: number;
  /** Start killed agents again (same node id) this long after the kill. @default never */
  restartAfterMs?: number;
  sizeBytes: number;
  chunkSizeBytes: number;
  /** Extra work per chunk in every agent (ms), so that a paused node surely holds a lease. */
  slowMs?: number;
  stateDir: string;
  /** Give up waiting for the object after this long. @default 10 minutes */
  deadlineMs?: number;
  endpoint?: string;
  log?: (line: string) => void;
}

/** One injected failure and how the cluster answered it. */
export interface FailureRecord {
  action: 'kill' | 'pause';
  nodeId: string;
  wasLeader: boolean;
  at: number;
  detectedMs?: number;
  handedBackMs?: number;
  leasesRevoked?: number;
  replicasMoved?: number;
  /** Restarted (`restartAfterMs`) and rejoined before the detector declared it dead. */
  restartedFirst?: boolean;
}

export interface ChaosReport {
  failures: FailureRecord[];
  leaderChanges: Array<{ holder: string; token: number; at: number }>;
  records: { generated: number; valid: number; invalid: number; in: number; out: number; rejected: number; filtered: number };
  chunks: number;
  seconds: number;
  replicasRestoredMs?: number;
  leaves: LeaveRecord[];
  joins: JoinRecord[];
  lateCommitsRefused: number;
  problems: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Fault injection while data flows: starts a local cluster, ingests a dataset, kills (SIGKILL)
 * and pauses (SIGSTOP/SIGCONT) agents, then has agents leave (SIGTERM) and new ones join, on a
 * schedule spread over the run, and reports detection and recovery per failure, leader changes,
 * time back to R per leave, shards moved per join against the minimum, and whether every record
 * arrived exactly once with every shard back at R replicas.
 */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => undefined);
  const env = await startLocalEnvironment({
    agents: opts.agents,
    endpoint: opts.endpoint,
    stateDir: opts.stateDir,
    config: { chunkSizeBytes: opts.chunkSizeBytes, replicationFactor: 2, concurrencyPerNode: 2 },
    agentArgs: opts.slowMs ? ['--slow-ms', String(opts.slowMs)] : [],
  });
  try {
    return await runSchedule(env, opts, log);
  } finally {
    for (const a of env.agents) if (a.process.signalCode === null && a.process.exitCode === null) a.process.kill('SIGCONT');
    await env.stop();
  }
}

async function runSchedule(env: LocalEnvironment, opts: ChaosOptions, log: (line: string) => void): Promise<ChaosReport> {
  const target: Target = { clients: createAwsClients({ endpoint: env.state.endpoint, region: env.state.region }), resources: env.state.resources, label: 'chaos' };
  const ledger = new ObjectLedger(target.clients.doc, target.resources.ledgerTable);
  const registry = new NodeRegistry(target.clients.doc, target.resources.nodesTable);
  const chunks = new ChunkLedger(target.clients.doc, target.resources.ledgerTable);
  const dir = join(env.state.stateDir, 'chaos');
  await mkdir(dir, { recursive: true });
  const data = await generateJsonlDataset({ path: join(dir, 'train.jsonl'), sizeBytes: opts.sizeBytes, seed: 7 });
  const started = Date.now();
  await ingestPath(data.path, { bucket: target.resources.ingestBucket, prefix: 'chaos/' }, { s3: target.clients.s3 });
  log(`ingested ${(data.bytes / 1e6).toFixed(1)} MB (${data.records} records) into ${opts.agents} agents`);

  type Action = 'kill' | 'pause' | 'leave' | 'join';
  const planned = [...Array(opts.kill).fill('kill'), ...Array(opts.pause ?? 0).fill('pause'), ...Array(opts.leave ?? 0).fill('leave'), ...Array(opts.join ?? 0).fill('join')] as Action[];
  const failures: FailureRecord[] = [];
  const membership: MembershipContext = {
    target,
    registry,
    heartbeatTimeoutMs: env.state.config.heartbeatTimeoutSeconds * 1000,
    replicationFactor: env.state.config.replicationFactor,
    watchMs: 60_000,
    everyMs: 300,
  };
  // Leaves and joins are watched one at a time, apart from the schedule, so that their figures are their own.
  const leaveWatches: Array<Promise<LeaveRecord>> = [];
  const joinWatches: Array<Promise<JoinRecord>> = [];
  let watching: Promise<unknown> = Promise.resolve();
  let watchBusy = false;
  const watch = <T>(run: () => Promise<T>): Promise<T> => {
    watchBusy = true;
    const record = watching.then(run).finally(() => (watchBusy = false));
    watching = record.catch((err) => log(`membership watch failed: ${(err as Error).message}`));
    return record;
  };
  const startMembershipAction = (action: 'leave' | 'join', leaderHolder?: string, progress = 'after the run'): boolean => {
    if (action === 'join') {
      const index = env.agents.length + 1;
      log(`starting agent-${index} (join) ${progress}`);
      joinWatches.push(watch(() => joinNode(membership, () => env.restartAgent(index))));
      return true;
    }
    const agent = env.agents.find((a) => a.nodeId !== leaderHolder && !victims.has(a.nodeId) && a.process.exitCode === null && a.process.signalCode === null);
    if (!agent) return false;
    victims.add(agent.nodeId);
    log(`SIGTERM ${agent.nodeId} (clean leave) ${progress}`);
    leaveWatches.push(watch(() => leaveNode(membership, agent)));
    return true;
  };
  const leaderChanges: ChaosReport['leaderChanges'] = [];
  const victims = new Set<string>();
  let object: ObjectItem | undefined;
  while (Date.now() - started < (opts.deadlineMs ?? 10 * 60 * 1000)) {
    object = (await ledger.list()).find((o) => o.key === 'chaos/train.jsonl');
    const leader = await LeaderLease.read(target.clients.doc, target.resources.controlTable);
    // When the new leader acquired the lease (its own timestamp), not when this loop noticed.
    if (leader && leaderChanges.at(-1)?.token !== leader.token) leaderChanges.push({ holder: leader.holder, token: leader.token, at: leader.acquiredAt });
    await recordDetections(registry, failures);
    if (object?.status === 'COMPLETE' || object?.status === 'FAILED' || object?.status === 'QUARANTINED') break;
    // The next failure waits for a live leader that is not a victim (after the leader's kill, for its successor).
    const leaderLive = leader !== undefined && !victims.has(leader.holder) && leader.expiresAt > Date.now();
    const done = failures.length + leaveWatches.length + joinWatches.length;
    const due = leaderLive && !watchBusy && object && object.chunkCount > 0 && done < planned.length && object.chunksDone >= ((done + 1) * object.chunkCount) / (planned.length + 2);
    const next = planned[done];
    // A leave or join waits until every failure before it is recovered: a dead node not yet
    // declared dead still counts as a holder, and its repair would blur the figures.
    const recovered = failures.every((f) => f.handedBackMs !== undefined);
    if (due && recovered && (next === 'leave' || next === 'join')) {
      startMembershipAction(next, leader?.holder, `at ${object?.chunksDone}/${object?.chunkCount} chunks`);
    } else if (due && (next === 'kill' || next === 'pause')) {
      const action = next;
      const nodes = (await registry.list()).filter((n) => n.status === 'ACTIVE' && !victims.has(n.nodeId));
      // The first victim is the leader; the others are followers that hold leases right now, so
      // that every failure has work in flight to recover and is detected by a live leader (a
      // leader that fails too adds a lease expiry to the detection of everything before it).
      // The freshest lease has the most work left, so the victim still holds it when the signal lands.
      const followers = nodes.filter((n) => n.nodeId !== leader?.holder);
      const freshest = await Promise.all(followers.map(async (n) => ({ n, at: Math.max(0, ...(await chunks.leasesOf(n.nodeId)).map((c) => c.leaseExpiresAt)) })));
      const holder = freshest.filter((h) => h.at > 0).sort((a, b) => b.at - a.at)[0]?.n;
      // (When no node holds a lease at this instant, wait for the next tick.)
      const victim = failures.length === 0 && leader ? nodes.find((n) => n.nodeId === leader.holder) : holder;
      const agent = env.agents.find((a) => a.nodeId === victim?.nodeId);
      if (victim && agent) {
        victims.add(victim.nodeId);
        const index = env.agents.indexOf(agent) + 1;
        agent.process.kill(action === 'kill' ? 'SIGKILL' : 'SIGSTOP');
        const record: FailureRecord = { action, nodeId: victim.nodeId, wasLeader: victim.nodeId === leader?.holder, at: Date.now() };
        failures.push(record);
        log(`${action === 'kill' ? 'SIGKILL' : 'SIGSTOP'} ${victim.nodeId}${record.wasLeader ? ' (leader)' : ''} at ${object?.chunksDone}/${object?.chunkCount} chunks`);
        if (action === 'pause') setTimeout(() => agent.process.kill('SIGCONT'), opts.pauseMs ?? 8000).unref();
        if (action === 'kill' && opts.restartAfterMs !== undefined) setTimeout(() => void env.restartAgent(index), opts.restartAfterMs).unref();
      }
    }
    await sleep(250);
  }
  // Leaves and joins the run was too short for happen after it.
  for (let done = failures.length + leaveWatches.length + joinWatches.length; done < planned.length; done++) {
    await watching;
    for (let i = 0; i < 60 && failures.some((f) => f.handedBackMs === undefined); i++) await sleep(250).then(() => recordDetections(registry, failures));
    const next = planned[done];
    if (next === 'leave' || next === 'join') startMembershipAction(next, (await LeaderLease.read(target.clients.doc, target.resources.controlTable))?.holder);
  }
  await watching;
  const settledRecords = async <T>(ws: Array<Promise<T>>) => (await Promise.allSettled(ws)).flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const leaves = await settledRecords(leaveWatches);
  const joins = await settledRecords(joinWatches);
  const seconds = (Date.now() - started) / 1000;
  const problems: string[] = [];
  if (object?.status !== 'COMPLETE') problems.push(`object did not complete (status ${object?.status ?? 'not planned'})`);
  if (leaves.length + joins.length < (opts.leave ?? 0) + (opts.join ?? 0)) problems.push('some leaves or joins could not be made or watched');
  for (const l of leaves) {
    if (l.backAtRMs === undefined) problems.push(`the shards ${l.nodeId} held were not back at R within ${membership.watchMs / 1000} s of its leave`);
    if ((l.fewestCopies ?? Infinity) < membership.replicationFactor) problems.push(`a shard ${l.nodeId} held fell to ${l.fewestCopies} PRESENT copies while it left`);
    if (l.exitedMs === undefined) problems.push(`${l.nodeId} did not exit after SIGTERM`);
  }
  for (const j of joins) if (j.settledMs === undefined) problems.push(`the shards placed when ${j.nodeId} joined did not settle on their placement`);

  // Failure detection and hand-back, from what the detector recorded on each dead node.
  for (let i = 0; i < 60 && failures.some((f) => f.handedBackMs === undefined); i++) {
    await recordDetections(registry, failures);
    await sleep(250);
  }
  for (const f of failures) {
    if (f.detectedMs !== undefined) continue;
    // A killed node restarted within the heartbeat timeout rejoins (handing back its own leases)
    // before the detector can declare it dead: that is recovery too.
    if (f.action === 'kill' && opts.restartAfterMs !== undefined && (await registry.list()).some((n) => n.nodeId === f.nodeId && Date.parse(n.startedAt) > f.at)) f.restartedFirst = true;
    else problems.push(`${f.nodeId} was never declared dead`);
  }

  let replicasRestoredMs: number | undefined;
  const records = { generated: data.records, valid: data.validRecords, invalid: data.invalidRecords, in: 0, out: 0, rejected: 0, filtered: 0 };
  if (object?.status === 'COMPLETE') {
    const verification = await verifyObject(target, object.objectId);
    problems.push(...verification.problems);
    const t = verification.manifest.totals;
    Object.assign(records, { in: t.recordsIn, out: t.recordsOut, rejected: t.recordsRejected, filtered: t.recordsFiltered });
    if (t.recordsIn !== data.records || t.recordsOut !== data.validRecords) problems.push('records in/out differ from the generated dataset');
    const lastFailure = Math.max(...failures.map((f) => f.at), started);
    const live = () => registry.healthy(4000).then((ns) => ns.map((n) => n.nodeId));
    for (let i = 0; i < 120 && replicasRestoredMs === undefined; i++) {
      const present = await presentReplicas(target, await live());
      const short = Array.from({ length: object.chunkCount }, (_, c) => present.get(chunkIdOf(object!.objectId, c))?.length ?? 0).filter((n) => n < 2).length;
      if (short === 0) replicasRestoredMs = Date.now() - lastFailure;
      else await sleep(250);
    }
    if (replicasRestoredMs === undefined) problems.push('some shards stayed below 2 replicas on live nodes');
  }
  // Paused agents wake up (SIGCONT) and try to commit late: give them time to be refused.
  const lastPause = Math.max(0, ...failures.filter((f) => f.action === 'pause').map((f) => f.at + (opts.pauseMs ?? 8000) + 5000));
  if (lastPause > Date.now()) await sleep(lastPause - Date.now());
  const lateCommitsRefused = await countInLogs(env, 'lease lost; late result discarded');
  const orphans = await countOrphans(target, object);
  if (orphans > 0) problems.push(`${orphans} output file(s) of abandoned attempts left in the processed bucket`);
  return { failures, leaderChanges, records, chunks: object?.chunkCount ?? 0, seconds, replicasRestoredMs, leaves, joins, lateCommitsRefused, problems };
}

/** Copies what the detector wrote on each failed node (before a rejoin overwrites it). */
async function recordDetections(registry: NodeRegistry, failures: FailureRecord[]): Promise<void> {
  if (!failures.some((f) => f.handedBackMs === undefined)) return;
  const nodes = await registry.list();
  for (const f of failures) {
    const n = nodes.find((x) => x.nodeId === f.nodeId);
    if (f.detectedMs === undefined && n?.deadAt && n.deadAt >= f.at) f.detectedMs = n.deadAt - f.at;
    if (f.handedBackMs === undefined && n?.recoveredAt && n.recoveredAt >= f.at) {
      f.handedBackMs = n.recoveredAt - f.at;
      f.leasesRevoked = n.recovery?.leasesRevoked;
      f.replicasMoved = n.recovery?.replicasMoved;
    }
  }
}

/** Shard and rejects files of the object that its manifest does not list. */
async function countOrphans(target: Target, object: ObjectItem | undefined): Promise<number> {
  if (!object?.manifestKey) return 0;
  const manifest = await readManifest(target, object.manifestKey);
  const listed = new Set([...manifest.shards.map((s) => s.key), ...manifest.rejects.map((r) => r.key)]);
  const keys = await listKeys(target.clients.s3, target.resources.processedBucket, [`shards/${object.objectId}/`, `rejects/${object.objectId}/`]);
  // Empty rejects files are not listed in the manifest but belong to committed attempts.
  const committed = new Set((await new ObjectLedger(target.clients.doc, target.resources.ledgerTable).chunks(object.objectId)).flatMap((c) => [c.shard?.key, c.rejects?.key]));
  return keys.filter((k) => !listed.has(k) && !committed.has(k)).length;
}

async function countInLogs(env: LocalEnvironment, text: string): Promise<number> {
  let n = 0;
  for (const a of env.state.agents) n += ((await readFile(a.logFile, 'utf8').catch(() => '')).match(new RegExp(text, 'g')) ?? []).length;
  return n;
}
