/**
 * The contract between the provisioner and one handler per resource type: a handler creates (or
 * finds) its resource and returns what `Ref` and `Fn::GetAtt` of it resolve to.
 */
import type { AwsClients } from '../../../lib/aws/clients';
import { resolveValue, UnresolvableError, type ResolveContext } from '../intrinsics';
import type { CfnResourceJson } from '../template';

/** What a handler is given. */
export interface HandlerContext {
  readonly clients: AwsClients;
  readonly namePrefix: string;
  readonly resolver: ResolveContext;
  log(message: string, fields?: Record<string, unknown>): void;
}

/** What a created resource answers to `Ref` and `Fn::GetAtt`. */
export interface ProvisionedResource {
  readonly ref: string;
  readonly attributes: Record<string, string>;
}

/** Creates one resource of a type, or finds it already there. */
export type ResourceHandler = (logicalId: string, resource: CfnResourceJson, ctx: HandlerContext) => Promise<ProvisionedResource>;

/** The resolved properties of a resource, or undefined where they name what is not provisioned. */
export function optionalProperty(logicalId: string, resource: CfnResourceJson, key: string, ctx: HandlerContext): unknown {
  const raw = resource.Properties?.[key];
  if (raw === undefined) return undefined;
  try {
    return resolveValue(raw, ctx.resolver);
  } catch (err) {
    if (!(err instanceof UnresolvableError)) throw err;
    ctx.log(`${logicalId}.${key} ignored locally`, { reason: err.message });
    return undefined;
  }
}

/** The resolved property `key`; an unresolvable value is an error. */
export function requiredProperty(logicalId: string, resource: CfnResourceJson, key: string, ctx: HandlerContext): unknown {
  try {
    return resolveValue(resource.Properties?.[key], ctx.resolver);
  } catch (err) {
    throw new Error(`${logicalId}.${key}: ${(err as Error).message}`, { cause: err });
  }
}

/** The AWS error name of `err` (SDK v3 `name`, or the service's `Code`). */
export function errorName(err: unknown): string {
  const e = err as { name?: string; Code?: string };
  return e?.Code ?? e?.name ?? '';
}
