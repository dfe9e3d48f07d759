/**
 * The JSON Schema of lb.yaml compiled by ajv the way an editor reads it:
 * draft-07 (what the schema declares), strict, with the two message
 * keywords of the VS Code JSON language service (errorMessage,
 * patternErrorMessage) declared as annotations.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { lbJsonSchema } from '../../src/config/json-schema.js';

/** newAjv returns a draft-07 ajv that knows the editor message keywords. */
export function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
  ajv.addKeyword({ keyword: 'errorMessage', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
  return ajv;
}

/** compileLbSchema compiles `schema` (default: lbJsonSchema()) with newAjv(). */
export function compileLbSchema(schema: Record<string, unknown> = lbJsonSchema()): ValidateFunction {
  return newAjv().compile(schema);
}

/** describeErrors prints ajv errors one per line, path first. */
export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('\n');
}
