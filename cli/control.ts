import { Argument, type Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { userInfo, hostname } from 'node:os';
import { ConfigStore, effectiveConfig, parseAssignments, mergeConfig, type ConfigDocument } from '../lib/control/config-store';
import { CONTROL_ACTIONS, ControlTable } from '../lib/control/control-state';
import { startExecution, type ExecutionResult } from '../lib/control/executions';
import { configFromEnv, parsePipelineConfig, type PipelineConfig } from '../lib/config/pipeline-config';
import { readLocalState } from '../lib/aws/local-state';
import { RunLedger } from '../lib/ledger/run-ledger';
import { stackOption, stateDirOption } from './options';
import { resolveTarget, type TargetOptions } from '../lib/aws/target';

const whoAmI = () => `${userInfo().username}@${hostname()} (shardline CLI)`;


/** Prints an execution's result; returns whether it succeeded. */
function report(result: ExecutionResult, json: boolean): boolean {
  if (json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`${result.status} in ${(result.tookMs / 1000).toFixed(1)} s  (${result.executionArn})`);
    if (result.output !== undefined) console.log(JSON.stringify(result.output, null, 2));
    if (result.error) console.log(`error: ${result.error}\ncause: ${result.cause ?? ''}`);
  }
  return result.status === 'SUCCEEDED';
}

/** `shardline control <action>`: runs the control state machine and waits for the effect. */
export function registerControlCommands(program: Command): void {
  program
    .command('control')
    .description('pause, resume, drain, stop or emergency-stop the pipeline (runs the control state machine and waits)')
    .addArgument(new Argument('<action>', 'what to do').choices([...CONTROL_ACTIONS, 'history']))
    .option('--reason <text>', 'why (recorded with who and when)')
    .option('--no-wait', 'start the execution and return')
    .option('--json', 'print JSON')
    .addOption(stackOption())
    .addOption(stateDirOption())
    .action(async (action: string, opts) => {
      const target = await resolveTarget(opts);
      if (action === 'history') {
        const table = new ControlTable(target.clients.doc, target.resources.controlTable);
        const [state, history] = await Promise.all([table.state(), table.history()]);
        console.log(`now: ${state.desired} (generation ${state.generation})`);
        for (const h of history) console.log(`${h.updatedAt}  ${String(h.action).padEnd(15)} → ${String(h.desired).padEnd(9)} by ${h.requestedBy}: ${h.reason}`);
        return;
      }
      const input = { action, reason: opts.reason ?? `${action} from the CLI`, requestedBy: whoAmI() };
      const result = await startExecution(target.clients.sfn, target.resources.controlStateMachineArn, input, { wait: opts.wait });
      process.exitCode = report(result, Boolean(opts.json)) || !opts.wait ? 0 : 1;
    });

  program
    .command('run')
    .description('process every object already under s3://bucket/prefix (runs the run state machine and waits for the run manifest)')
    .argument('<source>', 's3://bucket/prefix, or a prefix of the ingest bucket')
    .option('--no-wait', 'start the execution and return')
    .option('--json', 'print JSON')
    .addOption(stackOption())
    .addOption(stateDirOption())
    .action(async (source: string, opts) => {
      const target = await resolveTarget(opts);
      const { bucket, prefix } = parseRunSource(source, target.resources.ingestBucket);
      const result = await startExecution(target.clients.sfn, target.resources.runStateMachineArn, { bucket, prefix }, { name: `run-${new Date().toISOString().replace(/[:.]/g, '-')}`, wait: opts.wait });
      process.exitCode = report(result, Boolean(opts.json)) || !opts.wait ? 0 : 1;
    });

  program
    .command('runs')
    .description('runs over a prefix and how they ended')
    .addOption(stackOption())
    .addOption(stateDirOption())
    .action(async (opts) => {
      const target = await resolveTarget(opts);
      const runs = await new RunLedger(target.clients.doc, target.resources.ledgerTable, target.resources.controlTable).list();
      for (const r of runs) console.log([r.startedAt, r.status, r.runId, `s3://${r.bucket}/${r.prefix}`, `${r.objectsListed} objects`, r.manifestKey ?? ''].join('\t'));
    });

  const config = program.command('config').description('the central pipeline config: every node applies a new version without restart');
  config
    .command('get')
    .description('the config version in force, its overrides, and (with --history) earlier versions')
    .option('--history', 'list earlier versions')
    .option('--group <group>', 'show the effective config of this node group')
    .option('--json', 'print JSON')
    .addOption(stackOption())
    .addOption(stateDirOption())
    .action(async (opts) => {
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
    });
  config
    .command('set')
    .description('validate and publish a new config version (a bad value is refused with the reason; the old version stays)')
    .argument('[assignments...]', 'key=value pairs, e.g. concurrencyPerNode=8 dataset.dedupe=true (JSON values; null removes an override)')
    .option('--file <file>', 'replace the overrides with this JSON file: { "base": {...}, "groups": {...} } or a plain config object')
    .option('--group <group>', 'apply the assignments to this node group only')
    .option('--reason <text>', 'why (recorded with the version)')
    .addOption(stackOption())
    .addOption(stateDirOption())
    .action(async (assignments: string[], opts) => {
      const target = await resolveTarget(opts);
      const store = new ConfigStore(target.clients.doc, target.resources.controlTable);
      const current = await store.get();
      const next = await nextDocument(current, assignments, opts);
      const written = await store.set(next, { expectedVersion: current.version, deployed: await deployedConfig(opts), updatedBy: whoAmI(), reason: opts.reason });
      console.log(`config version ${written.version} published; nodes apply it within about a second (see shardline status)`);
    });
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
    return { base: (whole ? raw.base : raw) as Record<string, unknown> ?? {}, groups: (whole ? raw.groups : current.groups) as ConfigDocument['groups'] ?? {} };
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
