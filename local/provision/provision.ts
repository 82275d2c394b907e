/**
 * Creates on a local endpoint (moto, LocalStack) the resources a synthesized CDK template
 * declares, and resolves the template's outputs, so local mode runs on the same definitions as
 * the deployed stack. Why not CloudFormation on the emulator: CDK's custom resources (bucket
 * notifications, auto-delete) hang there and some types are silently skipped (LOCAL-AWS.md).
 *
 * Only the types shardline's data path needs are created; every other type (IAM, Lambda, Step
 * Functions, alarms, policies...) is skipped and listed. Resources are created in dependency
 * order (a queue's DLQ before the queue, queues before the bucket notifications that target
 * them) under deterministic names, so running it again is harmless.
 */
import type { AwsClients } from '../../lib/aws/clients';
import { evaluateCondition, referencedIds, resolveString, UnresolvableError, type ResolveContext } from './intrinsics';
import { provisionTable } from './resources/dynamodb-table';
import { provisionLogGroup } from './resources/log-group';
import { provisionBucket } from './resources/s3-bucket';
import { provisionBucketNotifications } from './resources/s3-notifications';
import { provisionQueue } from './resources/sqs-queue';
import { provisionTopic } from './resources/sns-topic';
import { provisionStateMachine } from './resources/state-machine';
import type { HandlerContext, ProvisionedResource, ResourceHandler } from './resources/types';
import type { CloudFormationTemplateJson } from './template';

/** The resource types created locally, and how. */
export const HANDLERS: Readonly<Record<string, ResourceHandler>> = {
  'AWS::S3::Bucket': provisionBucket,
  'AWS::SQS::Queue': provisionQueue,
  'AWS::DynamoDB::Table': provisionTable,
  'AWS::DynamoDB::GlobalTable': provisionTable,
  'Custom::S3BucketNotifications': provisionBucketNotifications,
  'AWS::SNS::Topic': provisionTopic,
  'AWS::StepFunctions::StateMachine': provisionStateMachine,
  'AWS::Logs::LogGroup': provisionLogGroup,
};

/** Options for {@link provisionFromTemplate}. */
export interface ProvisionOptions {
  /** Start of every physical name, e.g. `shardline-local`. */
  readonly namePrefix: string;
  /** The account of the endpoint. @default read from the first created queue or table ARN, else moto's 123456789012 */
  readonly accountId?: string;
  /** Progress and the settings left out locally. @default silent */
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** What {@link provisionFromTemplate} created. */
export interface ProvisionResult {
  /** Every template output that could be resolved, by output logical id. */
  readonly outputs: Record<string, string>;
  /** `Ref` value (bucket name, queue URL, table name) of each created resource, by logical id. */
  readonly physicalIds: Record<string, string>;
  /** Resource types in the template that were not created locally (sorted, unique). */
  readonly skippedTypes: string[];
  /** Outputs that name a resource that was not created, with the reason. */
  readonly unresolvedOutputs: Record<string, string>;
}

/** Creates (or finds) the template's resources on the clients' endpoint and resolves its outputs. */
export async function provisionFromTemplate(template: CloudFormationTemplateJson, clients: AwsClients, opts: ProvisionOptions): Promise<ProvisionResult> {
  const log = opts.log ?? (() => undefined);
  const created = new Map<string, ProvisionedResource>();
  let accountId = opts.accountId;
  const resolver: ResolveContext = {
    region: clients.region,
    partition: clients.region.startsWith('cn-') ? 'aws-cn' : clients.region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws',
    urlSuffix: clients.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com',
    accountId: () => accountId ?? '123456789012',
    ref: (id) => created.get(id)?.ref,
    getAtt: (id, attribute) => created.get(id)?.attributes[attribute],
    parameters: template.Parameters ?? {},
    conditions: template.Conditions ?? {},
  };
  const ctx: HandlerContext = { clients, namePrefix: opts.namePrefix, resolver, log };

  const resources = template.Resources ?? {};
  const wanted = Object.keys(resources).filter((id) => {
    const { Type, Condition } = resources[id];
    return HANDLERS[Type] !== undefined && (Condition === undefined || evaluateCondition(Condition, resolver));
  });
  const skippedTypes = [
    ...new Set(
      Object.values(resources)
        .map((r) => r.Type)
        .filter((t) => !HANDLERS[t]),
    ),
  ].sort();
  for (const id of dependencyOrder(template, wanted)) {
    const resource = resources[id];
    const result = await HANDLERS[resource.Type](id, resource, ctx);
    created.set(id, result);
    accountId ??= accountOf(result.attributes.Arn);
    log(`provisioned ${resource.Type} ${id}`, { physicalId: result.ref });
  }

  const outputs: Record<string, string> = {};
  const unresolvedOutputs: Record<string, string> = {};
  for (const [id, output] of Object.entries(template.Outputs ?? {})) {
    if (output.Condition !== undefined && !evaluateCondition(output.Condition, resolver)) continue;
    try {
      outputs[id] = resolveString(output.Value, resolver);
    } catch (err) {
      if (!(err instanceof UnresolvableError)) throw err;
      unresolvedOutputs[id] = err.message;
    }
  }
  const physicalIds = Object.fromEntries([...created].map(([id, r]) => [id, r.ref]));
  return { outputs, physicalIds, skippedTypes, unresolvedOutputs };
}

/** `ids` ordered so each comes after the wanted resources it references (Ref, GetAtt, Sub, DependsOn). */
function dependencyOrder(template: CloudFormationTemplateJson, ids: string[]): string[] {
  const resources = template.Resources ?? {};
  const wanted = new Set(ids);
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]) => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') throw new Error(`circular reference between resources: ${[...path, id].join(' -> ')}`);
    state.set(id, 'visiting');
    const { Properties, DependsOn } = resources[id];
    const deps = referencedIds(Properties);
    for (const d of [DependsOn ?? []].flat()) deps.add(d);
    for (const dep of deps) if (wanted.has(dep) && dep !== id) visit(dep, [...path, id]);
    state.set(id, 'done');
    order.push(id);
  };
  for (const id of ids) visit(id, []);
  return order;
}

function accountOf(arn: string | undefined): string | undefined {
  const account = arn?.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : undefined;
}
