/**
 * The parts of a synthesized CloudFormation template that local provisioning reads. Loose on
 * purpose: values are intrinsic-function trees until resolved.
 */

/** One resource of a template. */
export interface CfnResourceJson {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
  [key: string]: unknown;
}

/** One output of a template. */
export interface CfnOutputJson {
  Value: unknown;
  Description?: string;
  Condition?: string;
  Export?: { Name: unknown };
}

/** A CloudFormation template as `cdk synth` writes it. */
export interface CloudFormationTemplateJson {
  Resources?: Record<string, CfnResourceJson>;
  Outputs?: Record<string, CfnOutputJson>;
  Parameters?: Record<string, { Type: string; Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  [key: string]: unknown;
}
