import Ajv, { type AnySchema, type ValidateFunction } from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';

/** Why a record failed its schema: a stable `code` for counting, ajv's text as `reason`. */
export interface SchemaViolation {
  code: string;
  reason: string;
}

/** Checks one record; `undefined` when it is valid. */
export type RecordValidator = (record: unknown) => SchemaViolation | undefined;

/**
 * Compiles a dataset's JSON Schema once. The draft follows `$schema` (2020-12, 2019-09 or
 * draft-07); without `$schema`, 2020-12. Throws an Error naming the problem when the schema
 * is not a valid schema of that draft (ajv strict mode: unknown keywords and formats included).
 */
export function compileRecordSchema(schema: Record<string, unknown>): RecordValidator {
  const ajv = ajvFor(schema.$schema);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema as AnySchema);
  } catch (err) {
    throw new Error(`invalid dataset schema: ${(err as Error).message}`, { cause: err });
  }
  return (record) => {
    if (validate(record)) return undefined;
    const first = validate.errors?.[0];
    return {
      // The schema path is bounded by the schema's size, so it is safe as a counter key.
      code: first ? `schema:${first.schemaPath}` : 'schema',
      reason: `schema: ${ajv.errorsText(validate.errors, { dataVar: 'record' })}`,
    };
  };
}

function ajvFor(draft: unknown): Ajv {
  // Unknown keywords and formats fail the build (a typo must not silently validate nothing);
  // the stricter lint-like checks stay off, since they refuse valid schemas.
  const options = { strictSchema: true, strictNumbers: true, strictTypes: false, strictTuples: false, strictRequired: false, allErrors: false };
  if (draft === undefined || (typeof draft === 'string' && draft.includes('2020-12'))) return new Ajv2020(options);
  if (typeof draft === 'string' && draft.includes('2019-09')) return new Ajv2019(options);
  if (typeof draft === 'string' && draft.includes('draft-07')) return new Ajv(options);
  throw new Error(`invalid dataset schema: unsupported $schema ${JSON.stringify(draft)} (use draft 2020-12, 2019-09 or draft-07)`);
}
