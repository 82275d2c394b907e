import { readFile } from 'node:fs/promises';
import { userInfo, hostname } from 'node:os';
import { ConfigStore, effectiveConfig, parseAssignments, mergeConfig, type ConfigDocument } from '../../lib/control/config-store';
import { ControlTable } from '../../lib/control/control-state';
import { callerArn } from '../../lib/control/caller-identity';
import { startExecution, type ExecutionResult } from '../../lib/control/executions';
import { configFromEnv, parsePipelineConfig, type PipelineConfig } from '../../lib/config/pipeline-config';
import { readLocalState } from '../../lib/aws/local-state';
import { RunLedger } from '../../lib/ledger/run-ledger';
import { resolveTarget, type TargetOptions } from '../../lib/aws/target';

const whoAmI = () => `${userInfo().username}@${hostname()} (shardline CLI)`;

/** Prints an execution's result; returns whether it succeeded. */
function report(result: ExecutionResult, json: boolean): boolean {
  if (json) console.log(JSON.stringify(result, null, 2));
  else {
    const continued = result.continuations?.length ? `, continued as a new execution ${result.continuations.length} time(s) from ${result.name}` : '';
    console.log(`${result.status} in ${(result.tookMs / 1000).toFixed(1)} s  (${result.executionArn}${continued})`);
    if (result.output !== undefined) console.log(JSON.stringify(result.output, null, 2));
    if (result.error) console.log(`error: ${result.error}\ncause: ${result.cause ?? ''}`);
  }
  return result.status === 'SUCCEEDED';
}

/** `shardline control <action>`: runs the control state machine and waits for the effect; `history` lists earlier actions. */
export async function control(action: string, opts: TargetOptions & { reason?: string; wait: boolean; json?: boolean }): Promise<void> {
  const target = await resolveTarget(opts);
  if (action === 'history') {
    const table = new ControlTable(target.clients.doc, target.resources.controlTable);
    const [state, history] = await Promise.all([table.state(), table.history()]);
    console.log(`now: ${state.desired} (generation ${state.generation})`);
    for (const h of history) {
      const caller = h.callerArn ? ` [${h.callerArn}]` : '';
      console.log(`${h.updatedAt}  ${String(h.action).padEnd(15)} → ${String(h.desired).padEnd(9)} by ${h.requestedBy}${caller}: ${h.reason}  (${h.executionId ?? ''})`);
    }
    return;
  }
  // The IAM identity of these credentials, recorded apart from the free-text requestedBy.
  const clients = target.clients;
  const caller = await callerArn({ credentials: clients.sfn.config.credentials, region: clients.region, endpoint: clients.endpoint }).catch((err: Error) => {
    console.error(`warning: could not resolve the caller's IAM identity (${err.message}); the history records it as not given`);
    return undefined;
  });
  const input = { action, reason: opts.reason ?? `${action} from the CLI`, requestedBy: whoAmI(), ...(caller ? { callerArn: caller } : {}) };
  const result = await startExecution(target.clients.sfn, target.resources.controlStateMachineArn, input, { wait: opts.wait });
  process.exitCode = report(result, Boolean(opts.json)) || !opts.wait ? 0 : 1;
}

/** `shardline run <source>`: runs the run state machine over a prefix and waits for the run manifest (and, with --index, the dataset index). */
export async function run(source: string, opts: TargetOptions & { index?: string; wait: boolean; json?: boolean }): Promise<void> {
  const target = await resolveTarget(opts);
  const { bucket, prefix } = parseRunSource(source, target.resources.ingestBucket);
  const input = { bucket, prefix, ...(opts.index ? { index: { name: opts.index } } : {}) };
  const result = await startExecution(target.clients.sfn, target.resources.runStateMachineArn, input, { name: `run-${new Date().toISOString().replace(/[:.]/g, '-')}`, wait: opts.wait });
  process.exitCode = report(result, Boolean(opts.json)) || !opts.wait ? 0 : 1;
}

/** `shardline runs`: runs over a prefix and how they ended. */
export async function runs(opts: TargetOptions): Promise<void> {
  const target = await resolveTarget(opts);
  const list = await new RunLedger(target.clients.doc, target.resources.ledgerTable, target.resources.controlTable).list();
  for (const r of list) console.log([r.startedAt, r.status, r.runId, `s3://${r.bucket}/${r.prefix}`, `${r.objectsListed} objects`, r.manifestKey ?? ''].join('\t'));
}

/** `shardline config get`: the config version in force, its overrides, and (with --history) earlier versions. */
export async function configGet(opts: TargetOptions & { history?: boolean; group?: string; json?: boolean }): Promise<void> {
  const target = await resolveTarget(opts);
  const store = new ConfigStore(target.clients.doc, target.resources.controlTable);
  const doc = await store.get();
  const effective = effectiveFor(await deployedConfig(opts), doc, opts.group);
  if (opts.json) console.log(JSON.stringify({ ...doc, effective }, null, 2));
  else {
    console.log(`version ${doc.version}${doc.updatedAt ? ` (set ${doc.updatedAt} by ${doc.updatedBy}${doc.reason ? `: ${doc.reason}` : ''})` : ' (as deployed)'}`);
    console.log(`overrides: ${JSON.stringify(doc.base)}`);
    for (const [g, o] of Object.entries(doc.groups)) console.log(`group ${g}: ${JSON.stringify(o)}`);
    console.log(`effective${opts.group ? ` for group ${opts.group}` : ''}: ${JSON.stringify(effective, null, 2)}`);
  }
  if (opts.history) for (const h of await store.history()) console.log(`v${h.version}  ${h.updatedAt}  ${h.updatedBy}: ${h.reason ?? ''}  ${JSON.stringify({ base: h.base, groups: h.groups })}`);
}

/** `shardline config set`: validates and publishes a new config version. */
export async function configSet(assignments: string[], opts: TargetOptions & { file?: string; group?: string; reason?: string }): Promise<void> {
  const target = await resolveTarget(opts);
  const store = new ConfigStore(target.clients.doc, target.resources.controlTable);
  const current = await store.get();
  const next = await nextDocument(current, assignments, opts);
  const written = await store.set(next, { expectedVersion: current.version, deployed: await deployedConfig(opts), updatedBy: whoAmI(), reason: opts.reason });
  console.log(`config version ${written.version} published; nodes apply it within about a second (see shardline status)`);
}

/** s3://bucket/prefix, or a bare prefix of the ingest bucket. */
export function parseRunSource(source: string, ingestBucket: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(source);
  if (m) return { bucket: m[1], prefix: m[2] };
  if (source.includes('://')) throw new Error(`expected s3://bucket/prefix, got ${source}`);
  return { bucket: ingestBucket, prefix: source };
}

async function nextDocument(current: ConfigDocument, assignments: string[], opts: { file?: string; group?: string }): Promise<Pick<ConfigDocument, 'base' | 'groups'>> {
  if (opts.file) {
    const raw = JSON.parse(await readFile(opts.file, 'utf8')) as Record<string, unknown>;
    const whole = 'base' in raw || 'groups' in raw;
    return { base: ((whole ? raw.base : raw) as Record<string, unknown>) ?? {}, groups: ((whole ? raw.groups : current.groups) as ConfigDocument['groups']) ?? {} };
  }
  if (assignments.length === 0) throw new Error('nothing to set: give key=value assignments or --file');
  const patch = parseAssignments(assignments);
  if (opts.group) return { base: current.base, groups: { ...current.groups, [opts.group]: mergeConfig(current.groups[opts.group] ?? {}, patch) } };
  return { base: mergeConfig(current.base, patch), groups: current.groups };
}

/** The config components were started with (version 0): local.json locally, defaults on AWS. */
async function deployedConfig(opts: TargetOptions): Promise<PipelineConfig> {
  if (opts.stack) return configFromEnv({});
  return parsePipelineConfig((await readLocalState(opts.stateDir)).config);
}

function effectiveFor(deployed: PipelineConfig, doc: ConfigDocument, group?: string): PipelineConfig | string {
  try {
    return effectiveConfig(deployed, doc, group);
  } catch (err) {
    return (err as Error).message;
  }
}
