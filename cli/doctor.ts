import { Option, type Command } from 'commander';
import { stackOption, stateDirOption, usage } from './options';
import { readLocalState } from '../lib/aws/local-state';
import { collectEvidence } from '../lib/ops/doctor/collect-evidence';
import { diagnose } from '../lib/ops/doctor/diagnose';
import { renderDiagnosis } from '../lib/ops/doctor/render';
import { parseWindow } from '../lib/units';
import { resolveTarget } from '../lib/aws/target';

/** The metrics' Stage of a deployment: `Shardline-<stage>` stacks (infra/app.ts), `local` locally. */
export function metricsStageFor(stack: string | undefined): string {
  if (!stack) return 'local';
  const m = /^Shardline-(.+)$/.exec(stack);
  return m ? m[1] : stack;
}


/** `shardline doctor`: names the bottleneck with its evidence and what to do. */
export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('name the bottleneck (chunker, queue, download, processing, upload, distribution, throttling, nodes, placement, dead nodes) from metrics and the ledger, with the figures and what to do')
    .addOption(new Option('--window <duration>', 'how much metric history to read (1m..24h)').default(300, '5m').argParser(usage(parseWindow)))
    .option('--json', 'print the diagnosis and the evidence as JSON')
    .option('--metrics-stage <stage>', 'Stage dimension of the metrics (default: local, or <stage> of a Shardline-<stage> stack)')
    .addOption(stackOption())
    .addOption(stateDirOption())
    .action(async (opts: { window: number; json?: boolean; metricsStage?: string; stack?: string; stateDir: string }) => {
      const target = await resolveTarget(opts);
      const deployedConfig = opts.stack ? undefined : (await readLocalState(opts.stateDir)).config;
      const evidence = await collectEvidence(target, { windowSeconds: opts.window, stage: opts.metricsStage ?? metricsStageFor(opts.stack), deployedConfig });
      const diagnosis = diagnose(evidence);
      console.log(opts.json ? JSON.stringify({ diagnosis, evidence }, null, 2) : renderDiagnosis(diagnosis, evidence));
    });
}
