/**
 * The JSON Schema of lb.yaml, generated from the zod schema so the two never
 * drift. Editors (yaml-language-server, via the `# yaml-language-server:
 * $schema=…` modeline) use it for completion, hover text and checks as you
 * type; it should refuse what `yalb check` refuses.
 *
 * `io: 'input'` documents what users write ("10ms", "64KiB") rather than the
 * transformed numbers; the default `io: 'output'` would throw on the
 * transforms. `target: 'draft-07'` because yaml-language-server (VS Code's
 * YAML extension and the editors built on it) validates with draft 7; its
 * newer drafts are recent and partial.
 *
 * zod's conversion loses refinements and transforms: a duration would come
 * out as "an integer or any string". Three steps put them back:
 *  - a zod schema built by the helpers of units.ts and address.ts carries
 *    its exact JSON Schema (json-hint.ts), which replaces zod's here;
 *  - the `error` text of a zod regex or union becomes `patternErrorMessage`
 *    / `errorMessage`, the keywords yaml-language-server shows instead of
 *    'String does not match the pattern of "^…$"';
 *  - rules across keys that JSON Schema can say (if/then) are added at the
 *    end (crossFieldRules). Those it cannot say are listed in
 *    test/cli/schema-strict.test.ts as known gaps.
 */
import { z } from 'zod';
import { JSON_SCHEMA_META } from './json-hint.js';
import { LbConfigSchema } from './schema.js';

/** LB_SCHEMA_ID is the `$id` of the published schema (config/lb.schema.json); a URN, as yalb has no schema host. */
export const LB_SCHEMA_ID = 'urn:yalb:lb.yaml:v1';

type Json = Record<string, unknown>;

/** Keywords a hinted schema keeps from around it (hover text and default); everything else is replaced by the hint. */
const KEPT = new Set(['description', 'markdownDescription', 'default', 'title', 'examples']);

/** editorJsonSchema converts a zod schema of lb.yaml (or of a part of it) to draft-07 JSON Schema for editors: hints, messages and bounds put back. */
export function editorJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', target: 'draft-07', unrepresentable: 'any', override: refine }) as Json;
}

/** lbJsonSchema returns the draft-07 JSON Schema of lb.yaml as a plain object, `$schema` first. */
export function lbJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = editorJsonSchema(LbConfigSchema);
  crossFieldRules(rest);
  return {
    $schema,
    $id: LB_SCHEMA_ID,
    title: 'yalb lb.yaml',
    description: 'Configuration of the yalb load balancer: listen address, strategy, backends, retries, timeouts and health checks.',
    ...rest,
    // backends: or pools: (routes, issue 15): one of the two is required.
    anyOf: [{ required: ['backends'] }, { required: ['pools'] }],
  };
}

/** refine is zod's `override` hook, called once per generated node after its references are merged in. */
function refine({ zodSchema, jsonSchema }: { zodSchema: z.core.$ZodType; jsonSchema: Json }): void {
  const hint = jsonSchema[JSON_SCHEMA_META] as Json | undefined;
  if (hint) {
    for (const key of Object.keys(jsonSchema)) if (!KEPT.has(key)) delete jsonSchema[key];
    Object.assign(jsonSchema, hint);
    return;
  }
  const def = zodSchema._zod.def as { type: string; checks?: Array<{ _zod: { def: Json } }>; error?: unknown };
  if (def.type === 'string') {
    const regexes = (def.checks ?? []).map((c) => c._zod.def).filter((c) => c.check === 'string_format' && c.format === 'regex');
    const message = regexes.length === 1 ? messageOf(regexes[0]?.error) : undefined;
    if (message && typeof jsonSchema.pattern === 'string') jsonSchema.patternErrorMessage = message;
  }
  if (def.type === 'union') {
    const message = messageOf(def.error);
    if (message) {
      jsonSchema.errorMessage = message;
      for (const branch of (jsonSchema.anyOf ?? []) as Json[]) {
        branch.errorMessage ??= message;
        if (typeof branch.pattern === 'string') branch.patternErrorMessage ??= message;
      }
    }
  }
  // zod bounds every z.int() by the safe integers; that is noise in an editor, not a limit users meet.
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
}

/** messageOf returns the fixed text of a zod `error` option, or undefined when it is absent or depends on the issue. */
function messageOf(error: unknown): string | undefined {
  if (typeof error === 'string') return error;
  if (typeof error !== 'function') return undefined;
  try {
    const m: unknown = (error as (issue: object) => unknown)({});
    return typeof m === 'string' ? m : (m as { message?: unknown } | undefined)?.message as string | undefined;
  } catch {
    return undefined;
  }
}

/**
 * crossFieldRules adds the rules of LbConfigSchema's superRefine that JSON
 * Schema can say (draft-07 if/then): hashKey only with strategy: hash, and
 * admin.allowRemote: true only with a token. Each is skipped if the keys it
 * names are gone, so a renamed key fails the schema-strict tests, not this.
 */
function crossFieldRules(root: Json): void {
  const props = root.properties as Record<string, Json> | undefined;
  if (!props) return;
  const rules: Json[] = [];
  if (props.hashKey && props.strategy) {
    rules.push({
      if: { required: ['hashKey'] },
      then: {
        required: ['strategy'],
        properties: { strategy: { const: 'hash', errorMessage: 'hashKey is only used with strategy: hash' } },
        errorMessage: 'hashKey is only used with strategy: hash',
      },
    });
  }
  if (rules.length > 0) root.allOf = [...((root.allOf as Json[] | undefined) ?? []), ...rules];
  const admin = props.admin;
  const adminProps = admin?.properties as Record<string, Json> | undefined;
  if (admin && adminProps?.allowRemote && adminProps.token && adminProps.tokenFile) {
    const message = 'allowRemote: true requires token or tokenFile';
    admin.if = { properties: { allowRemote: { const: true } }, required: ['allowRemote'] };
    admin.then = { anyOf: [{ required: ['token'], errorMessage: message }, { required: ['tokenFile'], errorMessage: message }] };
  }
}
