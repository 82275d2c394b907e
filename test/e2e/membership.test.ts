import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAwsClients } from '../../lib/aws/clients';
import type { Target } from '../../lib/aws/target';
import { chunkIdOf } from '../../lib/chunking/chunk';
import { LeaderLease } from '../../lib/cluster/leader-lease';
import { placeShard } from '../../lib/cluster/placement';
import { minimumMoves } from '../../lib/cluster/rebalance';
import { NodeRegistry } from '../../lib/cluster/registry';
import { ingestPath } from '../../lib/ingest/ingest-path';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { generateJsonlDataset } from '../../local/dataset';
import { startLocalEnvironment, type LocalEnvironment } from '../../local/environment';
import { placementNodes, presentHolders, sampleCopies, takeCensus, type Census } from '../../local/replica-census';
import { waitFor } from '../support/wait';

const R = 2;
const TIMEOUT_MS = 3500; // the default heartbeat timeout

/** Every shard's holders (any status) equal its top-R placement over `nodes`, each PRESENT. */
const settledOn = (census: Census, chunkIds: string[], nodes: Parameters<typeof placeShard>[1]) =>
  chunkIds.every((c) => {
    const want = placeShard(c, nodes, R).sort();
    const held = [...(census.get(c) ?? new Map()).keys()].sort();
    return presentHolders(census, c).join() === want.join() && held.join() === want.join();
  });

/** The shards whose holders are not their placement: chunk, wanted holders, held (node:status). */
const unsettled = (census: Census, chunkIds: string[], nodes: Parameters<typeof placeShard>[1]) =>
  chunkIds
    .filter((c) => !settledOn(census, [c], nodes))
    .map((c) => `${c} wants ${placeShard(c, nodes, R).sort().join(',')} holds ${[...(census.get(c) ?? new Map()).entries()].map(([n, st]) => `${n}:${st}`).join(',')}`)
    .join('; ');

describe('replicas follow membership (4 agent processes, then a 5th, local endpoint)', () => {
  let env: LocalEnvironment;
  let target: Target;
  let registry: NodeRegistry;
  let chunkIds: string[];
  const figures: string[] = [];

  beforeAll(async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'shardline-membership-'));
    env = await startLocalEnvironment({ agents: 4, stateDir, config: { chunkSizeBytes: 160 * 1024, replicationFactor: R } });
    target = { clients: createAwsClients({ endpoint: env.state.endpoint, region: env.state.region }), resources: env.state.resources, label: 'test' };
    registry = new NodeRegistry(target.clients.doc, target.resources.nodesTable);
    // ~14 chunks: enough shards for every node to hold some, few enough messages for the emulator.
    const data = await generateJsonlDataset({ path: join(stateDir, 'train.jsonl'), sizeBytes: 2_200_000, seed: 3 });
    await ingestPath(data.path, { bucket: target.resources.ingestBucket, prefix: 'membership/' }, { s3: target.clients.s3 });
    const ledger = new ObjectLedger(target.clients.doc, target.resources.ledgerTable);
    const object = await waitFor(async () => (await ledger.list()).find((o) => o.key === 'membership/train.jsonl' && o.status === 'COMPLETE'), 120_000, 500);
    chunkIds = Array.from({ length: object.chunkCount }, (_, i) => chunkIdOf(object.objectId, i));
    const nodes = await placementNodes(registry, TIMEOUT_MS);
    expect(nodes).toHaveLength(4);
    let census: Census = new Map();
    await waitFor(
      async () => {
        census = await takeCensus(
          target,
          env.state.agents.map((a) => a.nodeId),
        );
        return settledOn(census, chunkIds, nodes);
      },
      60_000,
      500,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; not on their placement: ${unsettled(census, chunkIds, nodes)}`);
    });
  }, 240_000);

  afterAll(async () => {
    console.log(['', 'MEMBERSHIP FIGURES', ...figures].join('\n'));
    await env?.stop();
  });

  it('re-places the replicas of a node that leaves cleanly: back at R on live nodes within 10 s, never below R meanwhile', async () => {
    const leader = await LeaderLease.read(target.clients.doc, target.resources.controlTable);
    const leaver = env.agents.find((a) => a.nodeId !== leader?.holder && a.nodeId !== 'agent-1')!;
    const stayers = env.agents.filter((a) => a !== leaver).map((a) => a.nodeId);
    const before = await takeCensus(target, [leaver.nodeId], new Set(chunkIds));
    const handedOff = [...before.keys()];
    expect(handedOff.length).toBeGreaterThan(2);

    const sampler = sampleCopies(target, () => [leaver.nodeId, ...stayers], new Set(chunkIds));
    const exited = new Promise<number | null>((r) => leaver.process.once('exit', (code) => r(code)));
    const sigterm = Date.now();
    leaver.process.kill('SIGTERM');
    const backAtR = await waitFor(
      async () => {
        const census = await takeCensus(target, stayers, new Set(chunkIds));
        return chunkIds.every((c) => presentHolders(census, c).length >= R) && Date.now() - sigterm;
      },
      30_000,
      100,
    );
    const code = await exited;
    const exitedAfter = Date.now() - sigterm;
    const { samples, fewest } = await sampler.stop();
    figures.push(
      `  leave: ${leaver.nodeId} held ${handedOff.length} of ${chunkIds.length} shards; every shard back at R=${R} on live nodes ${(backAtR / 1000).toFixed(2)} s after SIGTERM; exited after ${(exitedAfter / 1000).toFixed(2)} s; fewest PRESENT copies in ${samples} samples: ${fewest}`,
    );

    expect(code).toBe(0);
    expect(backAtR).toBeLessThan(10_000);
    expect(samples).toBeGreaterThan(3);
    expect(fewest).toBeGreaterThanOrEqual(R);
    // Nothing of the leaver is left, and every shard sits exactly on its placement over the stayers.
    expect((await takeCensus(target, [leaver.nodeId])).size).toBe(0);
    expect((await registry.list()).map((n) => n.nodeId)).not.toContain(leaver.nodeId);
    const live = await placementNodes(registry, TIMEOUT_MS);
    expect(live.map((n) => n.nodeId).sort()).toEqual(stayers.sort());
    await waitFor(async () => settledOn(await takeCensus(target, stayers), chunkIds, live), 10_000);
  }, 120_000);

  it('moves only the shards whose placement changed when a 5th node joins, and keeps every shard at R', async () => {
    const beforeNodes = await placementNodes(registry, TIMEOUT_MS);
    const oldIds = beforeNodes.map((n) => n.nodeId);
    const before = await takeCensus(target, oldIds, new Set(chunkIds));
    expect(settledOn(before, chunkIds, beforeNodes)).toBe(true);

    const sampler = sampleCopies(target, () => [...oldIds, 'agent-5'], new Set(chunkIds));
    const started = Date.now();
    await env.restartAgent(5);
    const afterNodes = await waitFor(async () => {
      const nodes = await placementNodes(registry, TIMEOUT_MS);
      return nodes.some((n) => n.nodeId === 'agent-5') && nodes;
    }, 30_000);
    const expected = minimumMoves(chunkIds, beforeNodes, afterNodes, R);
    const all = [...oldIds, 'agent-5'];
    await waitFor(async () => settledOn(await takeCensus(target, all), chunkIds, afterNodes), 60_000, 250);
    const settledAfter = Date.now() - started;
    const { samples, fewest } = await sampler.stop();
    const after = await takeCensus(target, all, new Set(chunkIds));
    const moved = chunkIds.filter((c) => presentHolders(before, c).join() !== presentHolders(after, c).join());
    figures.push(
      `  join:  agent-5 joined ${oldIds.length} nodes; ${moved.length} of ${chunkIds.length} shards moved, minimum ${expected.length} (placement over ${oldIds.length} vs ${afterNodes.length} nodes); settled ${(settledAfter / 1000).toFixed(2)} s after start; fewest PRESENT copies in ${samples} samples: ${fewest}`,
    );

    expect(expected.length).toBeGreaterThan(0);
    expect(moved.sort()).toEqual(expected.sort());
    // Each moved shard went to the newcomer and left exactly one old holder.
    for (const c of moved) expect(presentHolders(after, c)).toContain('agent-5');
    expect(fewest).toBeGreaterThanOrEqual(R);
  }, 150_000);
});
