import type { NodeLoad } from '../lib/cluster/registry';
import { renderCheckpointRows } from '../lib/observability/checkpoint-rows';
import { cacheSummary, gpuSummary, hostSummary, placeSummary } from '../lib/observability/node-format';
import type { PipelineStatus } from '../lib/observability/status';

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Renders the status as plain-text tables. */
export function renderStatus(status: PipelineStatus): string {
  const lines: string[] = [];
  const c = status.control;
  if (c) {
    const last = c.action ? ` after ${c.action} by ${c.requestedBy}: ${c.reason}` : '';
    lines.push(`PIPELINE ${c.desired}${c.emergency ? ' (emergency stop)' : ''}${last} · config version ${c.configVersion}`);
  }
  const l = status.leader;
  lines.push(l && l.expiresInMs > 0 ? `LEADER ${l.holder} (fencing token ${l.token})` : 'LEADER none (no live agent holds the lease)', '');
  lines.push(`OBJECTS (${status.objects.length})`);
  lines.push(['STATUS', 'CHUNKS', 'SIZE', 'IN', 'OUT', 'REJECTED', 'FILTERED', 'BALANCED', 'KEY'].join('\t'));
  for (const o of status.objects) {
    lines.push(
      [
        o.failedChunks ? `${o.status === 'QUARANTINED' ? 'QUARANTINED' : 'FAILED'}(${o.failedChunks})` : o.status,
        `${o.chunksDone}/${o.chunkCount}`,
        mb(o.size),
        o.recordsIn,
        o.recordsOut,
        o.recordsRejected,
        o.recordsFiltered,
        o.balanced ? 'yes' : 'NO',
        o.runId ? `${o.key} (${o.runId})` : o.key,
      ].join('\t'),
    );
  }
  for (const o of status.objects.filter((x) => x.lastError)) lines.push(`  ${o.key}: ${o.lastError} (after a fix: shardline redrive)`);
  lines.push('', `NODES (${status.nodes.length})`);
  lines.push(['NODE', 'STATUS', 'DOMAIN', 'IN-FLIGHT', 'DONE', 'OBEYS', 'CONFIG', 'HEARTBEAT', 'TYPE', 'HOST', 'GPUS', 'NETWORK', 'ZONE', 'CACHE USED/CAPACITY'].join('\t'));
  for (const n of status.nodes) {
    const load: Partial<NodeLoad> = n.load ?? {};
    const config =
      load.configVersion === undefined
        ? '-'
        : `v${load.configVersion}${load.configGroup && load.configGroup !== 'default' ? `/${load.configGroup}` : ''}${load.configError ? ' (newest refused)' : ''}`;
    lines.push(
      [
        n.nodeId,
        n.status,
        n.failureDomain,
        load.inFlight ?? 0,
        load.chunksDone ?? 0,
        load.desired ?? '-',
        config,
        `${(n.heartbeatAgeMs / 1000).toFixed(1)}s ago`,
        n.instanceType,
        hostSummary(n),
        gpuSummary(n),
        n.networkBandwidth ?? '-',
        placeSummary(n),
        cacheSummary(n.cache, n.cacheCapacityBytes),
      ].join('\t'),
    );
  }
  for (const n of status.nodes.filter((x) => x.status === 'DRAINING' && x.drainReason)) lines.push(`  ${n.nodeId}: draining (${n.drainReason})`);
  const checkpoints = renderCheckpointRows(status.checkpoints ?? []);
  if (checkpoints.length) lines.push('', ...checkpoints);
  return lines.join('\n');
}
