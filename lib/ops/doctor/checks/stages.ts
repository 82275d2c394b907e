import { RECORD_PATH_BYTES_PER_CORE } from '../../../records/record-path-figures';
import type { DoctorEvidence } from '../evidence';
import type { BottleneckStage, Finding } from '../finding';
import { hasBacklog, nodesNeeded, THRESHOLDS, type Figures, type StageShare, type WorkStage } from '../figures';
import { formatCount, formatMs, formatRate, formatSize, pct } from '../../../units';
import { busyLine, concurrencyRaise, running, significantThrottles } from './advice';

const STAGE_OF: Record<WorkStage, BottleneckStage> = { download: 'download', process: 'processing', upload: 'upload', commit: 'commit' };
const NAME_OF: Record<WorkStage, string> = { download: 'download', process: 'transform', upload: 'upload', commit: 'ledger commit' };

/**
 * The slow stage inside a node: when the fleet is the limit (every node busy, work waiting) and
 * one stage takes most of a chunk's time, that stage is what to speed up. Throttling of the
 * stage's service is reported by its own check instead (its cause is not the stage).
 */
export function checkSlowStage(e: DoctorEvidence, f: Figures): Finding | undefined {
  const top = f.shares[0];
  if (!top || top.share < THRESHOLDS.dominantShare || !running(e)) return undefined;
  if (!hasBacklog(f) || (f.utilization ?? 0) < THRESHOLDS.saturated) return undefined;
  const service = top.stage === 'commit' ? e.metrics.throttles.dynamodb : top.stage === 'process' ? 0 : e.metrics.throttles.s3;
  if (significantThrottles(service, f.seconds)) return undefined;

  const total = e.metrics.latency.total;
  const figure =
    top.stat.p90Ms !== undefined && total?.p90Ms !== undefined
      ? `p90 ${top.stage} ${formatMs(top.stat.p90Ms)} of ${formatMs(total.p90Ms)} total`
      : `mean ${top.stage} ${formatMs(top.stat.meanMs)} of ${formatMs(f.totalMeanMs ?? top.stat.meanMs)} total per chunk`;
  const evidence = [...f.shares.map((s) => shareLine(s)), busyLine(e, f), `work queue: ${formatCount(f.backlog)} chunks waiting`];
  return {
    stage: STAGE_OF[top.stage],
    severity: 'warning',
    title: `${NAME_OF[top.stage]} is the slow stage: ${figure}`,
    evidence,
    recommendation: recommendationFor(top, e, f),
    // Within warnings: below throttling (its own cause), above "too few nodes" (which it explains).
    score: 0.55 + 0.3 * top.share,
  };
}

function shareLine(s: StageShare): string {
  const p90 = s.stat.p90Ms !== undefined ? `, p90 ${formatMs(s.stat.p90Ms)}` : '';
  return `${s.stage}: ${pct(s.share)} of a chunk's time (mean ${formatMs(s.stat.meanMs)}${p90}; ${formatCount(s.stat.count)} chunks)`;
}

function recommendationFor(top: StageShare, e: DoctorEvidence, f: Figures): string {
  const needed = nodesNeeded(f);
  const addNodes = needed !== undefined && needed > f.live.length ? `add nodes (${f.live.length} → ${needed})` : 'add nodes';
  const chunk = e.pipeline.chunkSizeBytes;
  switch (top.stage) {
    case 'process':
      return `records are CPU-bound in the agent (parse, validate, transform, compress on its record workers, about ${formatRate(RECORD_PATH_BYTES_PER_CORE)} each by bench:processing), so more chunks in flight do not help: give the record path more threads where the hosts have idle cores (shardline config set recordWorkers=N; default a quarter of the vCPUs), write zstd shards (shardCodec=zstd) or keep gzipLevel at 1, lighten the dataset transforms (schema, normalize, dedupe), or ${addNodes}`;
    case 'download':
    case 'upload': {
      const perStream = chunk / (top.stat.meanMs / 1000);
      const verb = top.stage === 'download' ? 'reads' : 'uploads';
      if (perStream < THRESHOLDS.s3BytesPerConnection / 2) {
        return `S3 ${verb} run at ${formatRate(perStream)} per chunk (${formatSize(chunk)} in ${formatMs(top.stat.meanMs)}), far under the ~85 MB/s one S3 connection gives: check the nodes' network (instance bandwidth, the S3 gateway endpoint) and S3 503 responses; then ${addNodes}`;
      }
      const raise = concurrencyRaise(e, f);
      return raise
        ? `each chunk is one S3 stream (~85 MB/s): raise concurrencyPerNode from ${raise.from} to ${raise.to} (shardline config set concurrencyPerNode=${raise.to}) to keep more streams in flight per node, or ${addNodes}`
        : `each chunk is one S3 stream (~85 MB/s) and the nodes run as many as their CPUs allow: ${addNodes}`;
    }
    case 'commit':
      return `ledger commits (one transaction of 2 + R items per chunk) take most of the time: check DynamoDB latency in the dashboard; larger chunks commit less often per byte (chunkSizeBytes from ${formatSize(chunk)} to ${formatSize(chunk * 4)})`;
  }
}
