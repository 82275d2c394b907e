import { GetCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parsePipelineConfig, type PipelineConfig } from '../config/pipeline-config';
import { controlKeys } from './control-state';
import { isConditionFailure } from '../aws/conditional-write';

/**
 * Centralized configuration with a version. The document holds overrides on top of the config a
 * component was deployed with (version 0): `base` for every node, `groups[name]` for one node
 * group (e.g. `a100` hosts get more concurrency). Each `set` is validated for every group before it
 * is written, and writes version n+1 only if version n is still current.
 */
export interface ConfigDocument {
  version: number;
  base: Record<string, unknown>;
  groups: Record<string, Record<string, unknown>>;
  updatedAt?: string;
  updatedBy?: string;
  reason?: string;
}

export const EMPTY_CONFIG_DOCUMENT: ConfigDocument = { version: 0, base: {}, groups: {} };

/** The group of nodes that have none. */
export const DEFAULT_NODE_GROUP = 'default';

/** Thrown when another `set` wrote a newer version first. */
export class ConfigConflictError extends Error {
  constructor(expected: number) {
    super(`config version ${expected} is no longer current (someone else changed it); read it again and retry`);
    this.name = 'ConfigConflictError';
  }
}

/** Deep merge of plain objects; arrays and scalars of `patch` replace; `null` removes a key. */
export function mergeConfig(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (isPlainObject(value) && isPlainObject(out[key])) out[key] = mergeConfig(out[key] as Record<string, unknown>, value);
    else out[key] = value;
  }
  return out;
}

/** The config one node group runs: deployed config, then the document's base, then its group. */
export function effectiveConfig(deployed: PipelineConfig, doc: ConfigDocument, group = DEFAULT_NODE_GROUP): PipelineConfig {
  return parsePipelineConfig(mergeConfig(mergeConfig(deployed as unknown as Record<string, unknown>, doc.base), doc.groups[group] ?? {}));
}

/** Throws with every reason if the base or any group would be an invalid config. */
export function validateConfigDocument(deployed: PipelineConfig, doc: Pick<ConfigDocument, 'base' | 'groups'>): void {
  const problems: string[] = [];
  for (const group of [DEFAULT_NODE_GROUP, ...Object.keys(doc.groups).filter((g) => g !== DEFAULT_NODE_GROUP)]) {
    try {
      effectiveConfig(deployed, { version: 0, ...doc }, group);
    } catch (err) {
      problems.push(group === DEFAULT_NODE_GROUP ? (err as Error).message : `group ${group}: ${(err as Error).message}`);
    }
  }
  if (problems.length) throw new Error(`config refused, the current version stays in force: ${problems.join(' | ')}`);
}

/**
 * Parses `a.b=value` assignments into a patch: values are JSON when they parse (numbers, true,
 * objects, arrays, null), else strings.
 */
export function parseAssignments(assignments: string[]): Record<string, unknown> {
  let patch: Record<string, unknown> = {};
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new Error(`expected key=value, got "${assignment}"`);
    const path = assignment.slice(0, eq).split('.');
    const raw = assignment.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    const nested = path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
    patch = mergeConfig(patch, nested);
  }
  return patch;
}

/** The config document in the control table, with its history. */
export class ConfigStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(): Promise<ConfigDocument> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: controlKeys.config, ConsistentRead: true }));
    return toConfigDocument(out.Item);
  }

  /**
   * Validates and writes the next version (conditional on `expectedVersion` being current) and
   * its history entry, in one transaction. A bad config throws and nothing is written.
   */
  async set(next: Pick<ConfigDocument, 'base' | 'groups'>, opts: { expectedVersion: number; deployed: PipelineConfig; updatedBy: string; reason?: string; now?: Date }): Promise<ConfigDocument> {
    validateConfigDocument(opts.deployed, next);
    const doc: ConfigDocument = {
      version: opts.expectedVersion + 1,
      base: next.base,
      groups: next.groups,
      updatedAt: (opts.now ?? new Date()).toISOString(),
      updatedBy: opts.updatedBy,
      reason: opts.reason,
    };
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: { ...controlKeys.config, ...stripUndefined(doc) },
                ConditionExpression: opts.expectedVersion === 0 ? 'attribute_not_exists(pk) OR version = :v' : 'version = :v',
                ExpressionAttributeValues: { ':v': opts.expectedVersion },
              },
            },
            { Put: { TableName: this.table, Item: { pk: controlKeys.configHistoryPk, sk: `v${String(doc.version).padStart(8, '0')}`, ...stripUndefined(doc) } } },
          ],
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new ConfigConflictError(opts.expectedVersion);
      throw err;
    }
    return doc;
  }

  /** Earlier versions, newest first. */
  async history(limit = 20): Promise<ConfigDocument[]> {
    const out = await this.doc.send(
      new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': controlKeys.configHistoryPk }, ScanIndexForward: false, Limit: limit }),
    );
    return (out.Items ?? []).map(toConfigDocument);
  }
}

export function toConfigDocument(item: Record<string, unknown> | undefined): ConfigDocument {
  if (!item) return EMPTY_CONFIG_DOCUMENT;
  return {
    version: Number(item.version ?? 0),
    base: (item.base as Record<string, unknown>) ?? {},
    groups: (item.groups as Record<string, Record<string, unknown>>) ?? {},
    updatedAt: item.updatedAt as string | undefined,
    updatedBy: item.updatedBy as string | undefined,
    reason: item.reason as string | undefined,
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const stripUndefined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
