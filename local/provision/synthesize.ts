/**
 * Synthesizes a CDK stack in-process, so local mode provisions from the very template the CDK
 * app deploys (never a second hand-kept list of resources). Lambda bundling is switched off
 * (`aws:cdk:bundling-stacks: []`): it needs esbuild or Docker and its output is not used locally.
 */
import { App, type Stack } from 'aws-cdk-lib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudFormationTemplateJson } from './template';

/** Options for {@link synthesizeTemplate}. */
export interface SynthesizeOptions {
  /** Extra CDK context (e.g. the stage config); bundling stays off whatever is given. */
  readonly context?: Record<string, unknown>;
}

/** Builds the stack that `buildStack` adds to a fresh App and returns its CloudFormation template. */
export function synthesizeTemplate(buildStack: (app: App) => Stack, opts: SynthesizeOptions = {}): CloudFormationTemplateJson {
  const outdir = mkdtempSync(join(tmpdir(), 'shardline-synth-'));
  try {
    const app = new App({ outdir, context: { ...opts.context, 'aws:cdk:bundling-stacks': [] } });
    const stack = buildStack(app);
    return app.synth().getStackArtifact(stack.artifactId).template as CloudFormationTemplateJson;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
