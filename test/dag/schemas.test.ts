/**
 * The engine compiles schemas without checking them against the meta-schema (that check was a
 * tenth of a cached run), so it is done here: pipeline.yaml's schema and every registered
 * kind's params schema are valid draft-07 JSON Schema.
 */
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { pipelineSchema } from '../../src/dag/schema.js';
import { loadRegistry } from '../../src/stages/index.js';

const registry = await loadRegistry();

describe('schemas', () => {
  const ajv = new Ajv({ allowUnionTypes: true, strict: false });
  it('pipeline.yaml schema is valid draft-07', () => {
    expect(ajv.validateSchema(pipelineSchema), JSON.stringify(ajv.errors)).toBe(true);
  });
  it.each([...registry.keys()])('params schema of kind %s is valid draft-07', (name) => {
    const schema = registry.get(name)?.paramsSchema ?? {};
    expect(ajv.validateSchema(schema), JSON.stringify(ajv.errors)).toBe(true);
  });
  it('the check rejects a broken schema', () => {
    expect(ajv.validateSchema({ type: 'object', properties: 3 })).toBe(false);
  });
});
