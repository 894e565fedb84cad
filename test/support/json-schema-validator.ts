import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { repoRoot } from '../../lib/config';

/** Where `npm run events:generate` writes one JSON Schema per type and version. */
export const JSON_SCHEMA_DIR = join(repoRoot, 'events', 'json-schema');

const FILE_NAME = /^(.+)\.v(\d+)\.json$/;

/**
 * Loads the committed JSON Schemas with ajv alone (no zod, no catalogue), the way a team in
 * another language would, and returns a validator for message bodies. It picks the schema by the
 * body's `type` and `dataversion`; an unknown pair is an error, as is anything ajv rejects.
 *
 * @example
 * const validate = loadJsonSchemaValidator();
 * assert.deepEqual(validate(new TextDecoder().decode(msg.data)), []);
 */
export function loadJsonSchemaValidator(dir: string = JSON_SCHEMA_DIR): (body: string) => string[] {
  // strict: a schema that only a lenient validator accepts would fail other teams' tooling.
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  const validators = new Map<string, ValidateFunction>();
  for (const name of readdirSync(dir).sort()) {
    const match = FILE_NAME.exec(name);
    if (!match) continue;
    const schema: unknown = JSON.parse(readFileSync(join(dir, name), 'utf8'));
    if (typeof schema !== 'object' || schema === null) throw new Error(`${name}: not a JSON Schema object`);
    validators.set(`${match[1]} v${match[2]}`, ajv.compile(schema));
  }
  if (validators.size === 0) throw new Error(`no JSON Schemas in ${dir}; run \`npm run events:generate\``);

  return (body: string): string[] => {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (err) {
      return [`not JSON: ${(err as Error).message}`];
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return ['not a JSON object'];
    const { type, dataversion } = json as { type?: unknown; dataversion?: unknown };
    if (typeof type !== 'string' || !Number.isInteger(dataversion)) {
      return [
        `no string \`type\` and integer \`dataversion\` (got ${JSON.stringify(type)}, ${JSON.stringify(dataversion)})`,
      ];
    }
    const validate = validators.get(`${type} v${String(dataversion)}`);
    if (!validate) return [`unknown event ${type} v${String(dataversion)}: no JSON Schema for it in ${dir}`];
    if (validate(json)) return [];
    return (validate.errors ?? []).map(
      (e) => `${type} v${String(dataversion)} ${e.instancePath || '/'}: ${e.message ?? e.keyword}`,
    );
  };
}
