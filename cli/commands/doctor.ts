import { readLocalState } from '../../lib/aws/local-state';
import { collectEvidence } from '../../lib/ops/doctor/collect-evidence';
import { diagnose } from '../../lib/ops/doctor/diagnose';
import { renderDiagnosis } from '../../lib/ops/doctor/render';
import { resolveTarget } from '../../lib/aws/target';
import { metricsStageFor } from '../options';

/** `shardline doctor`: names the bottleneck with its evidence and what to do. */
export async function doctor(opts: { window: number; json?: boolean; metricsStage?: string; stack?: string; stateDir: string }): Promise<void> {
  const target = await resolveTarget(opts);
  const deployedConfig = opts.stack ? undefined : (await readLocalState(opts.stateDir)).config;
  const evidence = await collectEvidence(target, { windowSeconds: opts.window, stage: opts.metricsStage ?? metricsStageFor(opts.stack), deployedConfig });
  const diagnosis = diagnose(evidence);
  console.log(opts.json ? JSON.stringify({ diagnosis, evidence }, null, 2) : renderDiagnosis(diagnosis, evidence));
}
