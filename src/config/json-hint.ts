/**
 * How a zod schema of lb.yaml says what its JSON Schema should be where
 * zod's own conversion cannot: refinements and transforms are lost in
 * `z.toJSONSchema` (a duration becomes "an integer or any string"), so the
 * helpers in units.ts and address.ts attach the exact JSON Schema of what
 * they accept, bounds and messages included, and json-schema.ts puts it in
 * place. A key built from those helpers gets it for free.
 */
import type { z } from 'zod';

/** JSON_SCHEMA_META is the `.meta()` key under which a zod schema carries the JSON Schema editors should see for it. */
export const JSON_SCHEMA_META = 'x-yalb-json-schema';

/**
 * JsonSchemaHint is the JSON Schema (draft-07) of a value as written in
 * lb.yaml. `errorMessage` and `patternErrorMessage` are the VS Code JSON
 * language service's keywords, honoured by yaml-language-server: the text
 * an editor shows instead of "String does not match the pattern of …".
 */
export interface JsonSchemaHint {
  type?: string | string[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  errorMessage?: string;
  patternErrorMessage?: string;
  examples?: unknown[];
  [keyword: string]: unknown;
}

/**
 * withJsonSchema returns `schema` carrying `hint` as its JSON Schema: the
 * description and default added around it later are kept; everything
 * zod would have generated for it is replaced.
 */
export function withJsonSchema<T extends z.ZodType>(schema: T, hint: JsonSchemaHint): T {
  return schema.meta({ [JSON_SCHEMA_META]: hint }) as T;
}
