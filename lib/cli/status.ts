import { LeaderLease, type LeaderLeaseItem } from '../cluster/leader-lease';
import { NodeRegistry, type NodeItem, type NodeLoad } from '../cluster/registry';
import type { ObjectItem } from '../ledger/items';
import { ObjectLedger } from '../ledger/object-ledger';
import { ConfigStore } from '../control/config-store';
import { ControlTable, type ControlState } from '../control/control-state';
import type { Target } from './target';

/** One object's progress as the ledger sees it. */
export interface ObjectStatusRow {
  key: string;
  objectId: string;
  status: string;
  size: number;
  chunksDone: number;
  chunkCount: number;
  recordsIn: number;
  recordsOut: number;
  recordsRejected: number;
  recordsFiltered: number;
  balanced: boolean;
  manifestKey?: string;
  failedChunks: number;
  lastError?: string;
  /** The run over a prefix that planned it, if any. */
  runId?: string;
}

export interface PipelineStatus {
  /** The desired state the control plane recorded, and the central config version. */
  control?: ControlState & { configVersion: number };
  leader?: { holder: string; token: number; expiresInMs: number };
  objects: ObjectStatusRow[];
  nodes: Array<Pick<NodeItem, 'nodeId' | 'status' | 'failureDomain' | 'instanceType' | 'load'> & { heartbeatAgeMs: number }>;
}

/** Reads every object's progress and the node registry. */
export async function collectStatus(target: Target, now = Date.now()): Promise<PipelineStatus> {
  const ledger = new ObjectLedger(target.clients.doc, target.resources.ledgerTable);
  const registry = new NodeRegistry(target.clients.doc, target.resources.nodesTable);
  const [objects, nodes, lease, control, config] = await Promise.all([
    ledger.list(),
    registry.list(),
    LeaderLease.read(target.clients.doc, target.resources.controlTable),
    new ControlTable(target.clients.doc, target.resources.controlTable).state(),
    new ConfigStore(target.clients.doc, target.resources.controlTable).get(),
  ]);
  return { control: { ...control, configVersion: config.version }, leader: leaderRow(lease, now), objects: objects.map(objectRow), nodes: nodes.map((n) => nodeRow(n, now)) };
}

/** The leader as status shows it. */
export function leaderRow(lease: LeaderLeaseItem | undefined, now: number): PipelineStatus['leader'] {
  return lease ? { holder: lease.holder, token: lease.token, expiresInMs: lease.expiresAt - now } : undefined;
}

/** One object item as a status row. */
export function objectRow(o: ObjectItem): ObjectStatusRow {
  return {
    key: o.key,
    objectId: o.objectId,
    status: o.status,
    size: o.size,
    chunksDone: o.chunksDone,
    chunkCount: o.chunkCount,
    recordsIn: o.recordsIn,
    recordsOut: o.recordsOut,
    recordsRejected: o.recordsRejected,
    recordsFiltered: o.recordsFiltered,
    balanced: o.recordsIn === o.recordsOut + o.recordsRejected + o.recordsFiltered,
    manifestKey: o.manifestKey,
    failedChunks: o.failedChunks ?? 0,
    lastError: o.lastError,
    runId: o.runId,
  };
}

/** One node item as a status row (heartbeat age clamped at 0 against clock skew). */
export function nodeRow(n: NodeItem, now: number): PipelineStatus['nodes'][number] {
  return {
    nodeId: n.nodeId,
    status: n.status,
    failureDomain: n.failureDomain,
    instanceType: n.instanceType,
    load: n.load,
    heartbeatAgeMs: Math.max(0, now - n.lastHeartbeat),
  };
}

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
      [o.failedChunks ? `FAILED(${o.failedChunks})` : o.status, `${o.chunksDone}/${o.chunkCount}`, mb(o.size), o.recordsIn, o.recordsOut, o.recordsRejected, o.recordsFiltered, o.balanced ? 'yes' : 'NO', o.runId ? `${o.key} (${o.runId})` : o.key].join('\t'),
    );
  }
  for (const o of status.objects.filter((x) => x.lastError)) lines.push(`  ${o.key}: ${o.lastError} (after a fix: shardline redrive)`);
  lines.push('', `NODES (${status.nodes.length})`);
  lines.push(['NODE', 'STATUS', 'DOMAIN', 'IN-FLIGHT', 'DONE', 'OBEYS', 'CONFIG', 'HEARTBEAT'].join('\t'));
  for (const n of status.nodes) {
    const load: Partial<NodeLoad> = n.load ?? {};
    const config = load.configVersion === undefined ? '-' : `v${load.configVersion}${load.configGroup && load.configGroup !== 'default' ? `/${load.configGroup}` : ''}${load.configError ? ' (newest refused)' : ''}`;
    lines.push([n.nodeId, n.status, n.failureDomain, load.inFlight ?? 0, load.chunksDone ?? 0, load.desired ?? '-', config, `${(n.heartbeatAgeMs / 1000).toFixed(1)}s ago`].join('\t'));
  }
  return lines.join('\n');
}
