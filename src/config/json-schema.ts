/**
 * The JSON Schema of lb.yaml, generated from the zod schema so the two never
 * drift. Editors (yaml-language-server, via the `# yaml-language-server:
 * $schema=…` modeline) use it for completion, hover text and typo checks.
 *
 * `io: 'input'` documents what users write ("10ms", "64KiB") rather than the
 * transformed numbers; the default `io: 'output'` would throw on the
 * transforms. `target: 'draft-07'` because yaml-language-server supports
 * JSON Schema 7 and below. Integers print zod's safe-integer bounds
 * (±9007199254740991); that is noise, not a limit users meet.
 */
import { z } from 'zod';
import { LbConfigSchema } from './schema.js';

/** LB_SCHEMA_ID is the `$id` of the published schema (config/lb.schema.json); a URN, as yalb has no schema host. */
export const LB_SCHEMA_ID = 'urn:yalb:lb.yaml:v1';

/** lbJsonSchema returns the draft-07 JSON Schema of lb.yaml as a plain object, `$schema` first. */
export function lbJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(LbConfigSchema, { io: 'input', target: 'draft-07', unrepresentable: 'any' });
  const { $schema, ...rest } = generated as Record<string, unknown>;
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
