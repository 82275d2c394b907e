/**
 * Resolves the CloudFormation intrinsic functions a CDK template uses in the properties and
 * outputs that local provisioning needs. Why a resolver of our own: CloudFormation on the
 * emulators cannot deploy CDK output (custom resources hang, some types are silently skipped),
 * so the template is read here and its resources are created with plain API calls.
 *
 * A reference to a resource that local mode does not create (a Lambda, a KMS key, an import)
 * throws {@link UnresolvableError}, so callers can drop optional settings and report outputs.
 */

/** What the resolver needs to know about the stack being provisioned. */
export interface ResolveContext {
  readonly region: string;
  readonly partition: string;
  readonly urlSuffix: string;
  accountId(): string;
  /** The `Ref` value of a created resource, or undefined. */
  ref(logicalId: string): string | undefined;
  /** An attribute of a created resource, or undefined. */
  getAtt(logicalId: string, attribute: string): string | undefined;
  readonly parameters: Record<string, { Default?: unknown }>;
  readonly conditions: Record<string, unknown>;
}

/** A value that names something local provisioning did not (or cannot) create. */
export class UnresolvableError extends Error {}

/** `Ref: AWS::NoValue`: the enclosing property or list item is dropped. */
const NO_VALUE = Symbol('AWS::NoValue');

/** Resolves every intrinsic function inside `value`. */
export function resolveValue(value: unknown, ctx: ResolveContext): unknown {
  const out = resolve(value, ctx);
  return out === NO_VALUE ? undefined : out;
}

/** Resolves `value` and requires a string (outputs, names, ARNs). */
export function resolveString(value: unknown, ctx: ResolveContext): string {
  const out = resolveValue(value, ctx);
  if (typeof out === 'number' || typeof out === 'boolean') return String(out);
  if (typeof out !== 'string') throw new UnresolvableError(`expected a string, got ${JSON.stringify(out)}`);
  return out;
}

/** Evaluates a named condition of the template. */
export function evaluateCondition(name: string, ctx: ResolveContext): boolean {
  if (!(name in ctx.conditions)) throw new UnresolvableError(`unknown condition ${name}`);
  return Boolean(resolve(ctx.conditions[name], ctx));
}

/** The logical ids that `value` refers to through Ref, Fn::GetAtt and Fn::Sub. */
export function referencedIds(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => referencedIds(v, into));
  else if (value && typeof value === 'object') {
    for (const [key, arg] of Object.entries(value)) {
      if (key === 'Ref' && typeof arg === 'string') into.add(arg);
      else if (key === 'Fn::GetAtt') into.add(getAttArgs(arg)[0]);
      else if (key === 'Fn::Sub') {
        const template = Array.isArray(arg) ? arg[0] : arg;
        for (const m of String(template).matchAll(/\$\{([^!}][^}]*)\}/g)) into.add(m[1].split('.')[0]);
        if (Array.isArray(arg)) referencedIds(arg[1], into);
      } else referencedIds(arg, into);
    }
  }
  return into;
}

function resolve(value: unknown, ctx: ResolveContext): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, ctx)).filter((v) => v !== NO_VALUE);
  if (!value || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [fn, arg] = entries[0];
    const intrinsic = INTRINSICS[fn];
    if (intrinsic) return intrinsic(arg, ctx);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    const r = resolve(v, ctx);
    if (r !== NO_VALUE) out[k] = r;
  }
  return out;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each intrinsic destructures its own argument shape from template JSON
const INTRINSICS: Record<string, (arg: any, ctx: ResolveContext) => unknown> = {
  Ref: (name: string, ctx) => refOf(name, ctx),
  'Fn::GetAtt': (arg, ctx) => {
    const [id, attribute] = getAttArgs(resolve(arg, ctx));
    const value = ctx.getAtt(id, attribute);
    if (value === undefined) throw new UnresolvableError(`Fn::GetAtt ${id}.${attribute}: not provisioned locally`);
    return value;
  },
  'Fn::Join': ([sep, items], ctx) => (resolve(items, ctx) as unknown[]).map((s) => asString(s)).join(sep),
  'Fn::Sub': (arg, ctx) => {
    const [template, vars] = Array.isArray(arg) ? arg : [arg, {}];
    const locals = resolve(vars, ctx) as Record<string, unknown>;
    return String(template).replace(/\$\{([^}]*)\}/g, (_, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (name in locals) return asString(locals[name]);
      const [id, ...attribute] = name.split('.');
      return asString(attribute.length > 0 ? INTRINSICS['Fn::GetAtt']([id, attribute.join('.')], ctx) : refOf(id, ctx));
    });
  },
  'Fn::Select': ([index, list], ctx) => (resolve(list, ctx) as unknown[])[Number(resolve(index, ctx))],
  'Fn::Split': ([sep, source], ctx) => asString(resolve(source, ctx)).split(sep),
  'Fn::Base64': (arg, ctx) => Buffer.from(asString(resolve(arg, ctx))).toString('base64'),
  'Fn::If': ([condition, whenTrue, whenFalse], ctx) => resolve(evaluateCondition(condition, ctx) ? whenTrue : whenFalse, ctx),
  'Fn::Equals': ([a, b], ctx) => JSON.stringify(resolve(a, ctx)) === JSON.stringify(resolve(b, ctx)),
  'Fn::Not': ([a], ctx) => !resolve(a, ctx),
  'Fn::And': (args: unknown[], ctx) => args.every((a) => resolve(a, ctx)),
  'Fn::Or': (args: unknown[], ctx) => args.some((a) => resolve(a, ctx)),
  Condition: (name: string, ctx) => evaluateCondition(name, ctx),
};

function refOf(name: string, ctx: ResolveContext): unknown {
  switch (name) {
    case 'AWS::Region':
      return ctx.region;
    case 'AWS::AccountId':
      return ctx.accountId();
    case 'AWS::Partition':
      return ctx.partition;
    case 'AWS::URLSuffix':
      return ctx.urlSuffix;
    case 'AWS::NoValue':
      return NO_VALUE;
  }
  const value = ctx.ref(name);
  if (value !== undefined) return value;
  const parameter = ctx.parameters[name];
  if (parameter && parameter.Default !== undefined) return parameter.Default;
  throw new UnresolvableError(`Ref ${name}: not provisioned locally`);
}

function getAttArgs(arg: unknown): [string, string] {
  if (typeof arg === 'string') {
    const dot = arg.indexOf('.');
    return [arg.slice(0, dot), arg.slice(dot + 1)];
  }
  const [id, attribute] = arg as [string, string];
  return [id, attribute];
}

function asString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new UnresolvableError(`expected a string, got ${JSON.stringify(value)}`);
}
