import { DatasetConfig } from '../config/pipeline-config';
import { recordDigest } from './canonical-json';
import { codePointLength, normalizeStrings, renameFields, selectFields, type NormalizeOptions } from './field-transforms';
import { compileRecordSchema, type RecordValidator } from './json-schema';
import type { JsonObject } from './readers/types';

/**
 * What the pipeline made of one record. `code` is a short, stable key (for counters and
 * metrics); `reason` is the full explanation written next to a rejected record.
 */
export type RecordOutcome = { kind: 'out'; value: JsonObject } | { kind: 'rejected'; code: string; reason: string } | { kind: 'filtered'; code: string; reason: string };

/** Applies the pipeline to the records of one chunk (it holds the chunk's dedupe state). */
export interface ChunkTransformer {
  apply(record: JsonObject): RecordOutcome;
}

/** A dataset's compiled record pipeline: build once per config, then one transformer per chunk. */
export interface RecordPipeline {
  readonly dataset: DatasetConfig;
  /** A transformer with fresh per-chunk state (duplicates are dropped within a chunk). */
  forChunk(): ChunkTransformer;
  /**
   * Every step but the chunk-wide dedupe, and stateless: for blocks of a chunk processed apart
   * (in worker threads), whose outputs are deduped in chunk order afterwards with
   * {@link recordDigest}. An `out` value is the record itself when no step changed it.
   */
  readonly perRecord: ChunkTransformer;
}

type Step = (record: JsonObject) => JsonObject;

/** The outcome of a record equal to an earlier one of its chunk (after transforms). */
export const DUPLICATE = { kind: 'filtered', code: 'duplicate', reason: 'duplicate of an earlier record in the chunk' } as const satisfies RecordOutcome;

/**
 * Builds the record pipeline of a dataset config, in this order: JSON Schema check of the
 * record as read (invalid → rejected), selectFields, renameFields, normalize, lengthFilter
 * (→ filtered), dedupe of exact duplicates within the chunk (→ filtered). The schema is
 * compiled here, once. Throws an Error naming the problem when the config or its schema is bad.
 */
export function buildRecordPipeline(config: DatasetConfig): RecordPipeline {
  const parsed = DatasetConfig.safeParse(config);
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid dataset config: ${reasons.join('; ')}`);
  }
  const dataset = parsed.data;
  const validate: RecordValidator | undefined = dataset.schema ? compileRecordSchema(dataset.schema) : undefined;
  const steps = transformSteps(dataset);
  const lengthCheck = dataset.lengthFilter ? lengthFilter(dataset.lengthFilter) : undefined;

  const perRecord: ChunkTransformer = {
    apply(record: JsonObject): RecordOutcome {
      const violation = validate?.(record);
      if (violation) return { kind: 'rejected', ...violation };
      let value = record;
      for (const step of steps) value = step(value);
      const tooLong = lengthCheck?.(value);
      if (tooLong) return { kind: 'filtered', ...tooLong };
      return { kind: 'out', value };
    },
  };

  return {
    dataset,
    perRecord,
    forChunk(): ChunkTransformer {
      if (!dataset.dedupe) return perRecord;
      const seen = new Set<string>();
      return {
        apply(record: JsonObject): RecordOutcome {
          const outcome = perRecord.apply(record);
          if (outcome.kind !== 'out') return outcome;
          const digest = recordDigest(outcome.value);
          if (seen.has(digest)) return DUPLICATE;
          seen.add(digest);
          return outcome;
        },
      };
    },
  };
}

function transformSteps(dataset: DatasetConfig): Step[] {
  const steps: Step[] = [];
  if (dataset.selectFields) {
    const fields = new Set(dataset.selectFields);
    steps.push((r) => selectFields(r, fields));
  }
  if (dataset.renameFields && Object.keys(dataset.renameFields).length > 0) {
    const renames = new Map(Object.entries(dataset.renameFields));
    steps.push((r) => renameFields(r, renames));
  }
  if (dataset.normalize) {
    const options: NormalizeOptions = {
      nfc: dataset.normalize.nfc ?? true,
      collapseWhitespace: dataset.normalize.collapseWhitespace ?? true,
      fields: dataset.normalize.fields ? new Set(dataset.normalize.fields) : undefined,
    };
    if (options.nfc || options.collapseWhitespace) steps.push((r) => normalizeStrings(r, options));
  }
  return steps;
}

function lengthFilter(filter: NonNullable<DatasetConfig['lengthFilter']>): (r: JsonObject) => { code: string; reason: string } | undefined {
  const { field, min, max } = filter;
  return (record) => {
    const v = Object.prototype.hasOwnProperty.call(record, field) ? record[field] : undefined;
    if (typeof v !== 'string') return { code: 'length:not-a-string', reason: `field "${field}" is missing or not a string` };
    const length = codePointLength(v);
    if (min !== undefined && length < min) return { code: 'length:below-min', reason: `field "${field}" has ${length} characters, fewer than ${min}` };
    if (max !== undefined && length > max) return { code: 'length:above-max', reason: `field "${field}" has ${length} characters, more than ${max}` };
    return undefined;
  };
}
