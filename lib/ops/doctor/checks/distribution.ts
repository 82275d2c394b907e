import type { DoctorEvidence, NodeEvidence } from '../evidence';
import type { Finding } from '../finding';
import type { Figures } from '../figures';
import { formatCount, pct, perSecond } from '../../../units';

/** Shards short of R replicas: too few nodes for R, or replica pulls falling behind processing. */
export function checkReplication(e: DoctorEvidence, f: Figures): Finding | undefined {
  const r = e.replication;
  const belowR = Math.max(r.belowR, e.metrics.shardsBelowReplication?.last ?? 0);
  if (belowR === 0 || r.shards === 0) return undefined;
  const evidence = [`${formatCount(belowR)} of ${formatCount(r.shards)} shards have fewer than R=${r.factor} replicas present on live nodes`];
  const reported = e.metrics.shardsBelowReplication;
  if (reported && reported.max > 0) evidence.push(`the leader reported up to ${formatCount(reported.max)} shards below R in the window (ShardsBelowReplication, now ${formatCount(reported.last)})`);
  if (f.live.length < r.factor) {
    evidence.push(`${f.live.length} live node(s) for R=${r.factor}; ${formatCount(r.flaggedShort)} shard(s) placed on fewer than R nodes`);
    return {
      stage: 'distribution',
      severity: 'critical',
      title: `replicas below R: only ${f.live.length} live node(s) for R=${r.factor}`,
      evidence,
      recommendation: `add nodes: at least R=${r.factor} live nodes, in distinct failure domains; the leader tops the flagged shards up as they join`,
      score: 0.8,
    };
  }
  evidence.push(`${formatCount(r.pendingPulls)} replica pull(s) pending on live nodes`);
  const pulled = e.metrics.replicasPulled / f.seconds;
  const needed = f.chunksPerSecond * r.factor;
  if (e.metrics.present) evidence.push(`nodes pulled ${perSecond(pulled, 'replicas')}; processing adds ${perSecond(needed, 'replicas')} (${perSecond(f.chunksPerSecond, 'chunks')} × R=${r.factor})`);
  // Pulls follow commits by a moment; lagging means a queue of pulls that outgrows the pulling.
  const lagging = r.pendingPulls >= Math.max(10, 2 * f.live.length) && (!e.metrics.present || pulled < needed * 0.75);
  const many = belowR >= Math.max(10, r.shards * 0.05);
  // A few shards below R while fresh replicas are pulled is the normal state of a running pipeline.
  if (!lagging && !many) return undefined;
  const busiest = [...f.live].sort((a, b) => b.replicas - a.replicas)[0];
  return {
    stage: 'distribution',
    severity: 'warning',
    title: lagging ? `distribution lags: replica pulls fall behind processing (${formatCount(belowR)} shards below R)` : `${formatCount(belowR)} shards below R=${r.factor}`,
    evidence,
    recommendation: lagging
      ? `each agent pulls its shards one at a time: more nodes share the pulls, or look for slow disks or network on the nodes with the most assigned replicas${busiest ? ` (${busiest.nodeId}: ${formatCount(busiest.replicas)})` : ''}`
      : "replicas catch up as nodes pull them; if the count stays, check the leader's replica repair (shardline status: LEADER)",
    score: lagging ? 0.45 : 0.3,
  };
}

/** Replica counts uneven across live nodes beyond what their cache weights ask for. */
export function checkSkew(e: DoctorEvidence, f: Figures): Finding | undefined {
  const nodes = f.live;
  const total = nodes.reduce((n, x) => n + x.replicas, 0);
  // Below ~20 replicas a node, rendezvous hashing's own spread looks like skew.
  if (nodes.length < 2 || total < 20 * nodes.length) return undefined;
  const weight = nodes.reduce((n, x) => n + x.placementWeight, 0);
  const rows = nodes.map((n) => ({ n, share: n.replicas / total, expected: n.placementWeight / weight })).map((x) => ({ ...x, ratio: x.share / x.expected }));
  const high = rows.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  const low = rows.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  if (high.ratio < 1.5 && low.ratio > 0.5) return undefined;

  const line = (x: (typeof rows)[number]) => `${x.n.nodeId} holds ${formatCount(x.n.replicas)} replicas (${pct(x.share)} of ${formatCount(total)}; ${pct(x.expected)} expected by cache weight)`;
  const evidence = [line(high), ...(low !== high ? [line(low)] : [])];
  const domains = domainSizes(nodes);
  const sizes = [...domains.values()];
  const unevenDomains = domains.size >= 2 && e.replication.factor >= 2 && Math.max(...sizes) >= 2 * Math.min(...sizes);
  evidence.push(`failure domains: ${[...domains].map(([d, n]) => `${d} ${n} node${n === 1 ? '' : 's'}`).join(', ')}`);
  let recommendation: string;
  if (unevenDomains) {
    const smallest = [...domains].reduce((a, b) => (b[1] < a[1] ? b : a));
    recommendation = `balance the failure domains: with R=${e.replication.factor} every shard keeps a replica in each of ${Math.min(domains.size, e.replication.factor)} domains, so the ${smallest[1] === 1 ? 'only node' : `${smallest[1]} nodes`} of ${smallest[0]} hold${smallest[1] === 1 ? 's' : ''} a replica of ${smallest[1] === 1 ? 'every' : 'a large share of every'} shard; put as many nodes (or as much cache) in each domain`;
  } else {
    recommendation =
      "placement skew not explained by cache weights or failure domains: nodes that joined after most shards were placed hold fewer (existing shards are not rebalanced); it evens out as new shards arrive. Check each node's advertised cache capacity (cacheCapacityGiB)";
  }
  return {
    stage: 'skewed-placement',
    severity: unevenDomains || high.ratio >= 2 ? 'warning' : 'info',
    title: `skewed placement: ${high.n.nodeId} holds ${pct(high.share)} of the replicas (${pct(high.expected)} expected)`,
    evidence,
    recommendation,
    score: Math.min(0.45, 0.2 + 0.1 * high.ratio),
  };
}

function domainSizes(nodes: NodeEvidence[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of nodes) out.set(n.failureDomain, (out.get(n.failureDomain) ?? 0) + 1);
  return new Map([...out].sort((a, b) => a[0].localeCompare(b[0])));
}
