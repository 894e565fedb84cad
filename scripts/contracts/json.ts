import { stringify as toYaml } from 'yaml';

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON round trip: drops undefined members and proves the value is plain JSON. */
export function toJsonObject(value: unknown): JsonObject {
  const json: unknown = JSON.parse(JSON.stringify(value));
  if (!isObject(json)) throw new Error('expected a JSON object');
  return json;
}

/**
 * JSON as committed: two-space indent and a trailing newline, so diffs stay quiet.
 *
 * @example
 * renderJson({ a: 1 }); // '{\n  "a": 1\n}\n'
 */
export function renderJson(value: JsonValue): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * YAML as committed. Aliases are off because a reader (or a code generator) should see every
 * schema in full where it is used; line folding is off so long regex patterns stay on one line.
 *
 * @example
 * renderYaml({ asyncapi: '3.0.0' }); // 'asyncapi: 3.0.0\n'
 */
export function renderYaml(value: JsonValue): string {
  return toYaml(value, { aliasDuplicateObjects: false, lineWidth: 0 });
}
