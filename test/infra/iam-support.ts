import { Stack, type CfnResource } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/** An IAM policy statement as synthesized. */
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** Whether `value` matches an IAM StringLike pattern (`*` any run, `?` one character). */
export function like(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(value);
}

/** The logical id of a construct's CloudFormation resource. */
export const idOf = (c: IConstruct) => Stack.of(c).getLogicalId(c.node.defaultChild as CfnResource);

/** Every statement of the policies of `template` attached to `role`. */
export function statementsOf(template: Template, role: iam.IRole): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${idOf(role)}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}
