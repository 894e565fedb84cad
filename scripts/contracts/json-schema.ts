import { z } from 'zod';
import { EVENT_TYPES, eventCatalog, serviceOf, type EventType } from '../../events/catalog';
import { cloudEventSchema } from '../../events/envelope';
import { isObject, toJsonObject, type JsonObject, type JsonValue } from './json';

// Build-time only (the generator script and tests): the JSON Schema of every event type and
// version, converted from the same zod schemas the runtime package parses with.

/** Base of every schema `$id`; an identifier, not a URL anything is served from. */
export const SCHEMA_ID_BASE = 'https://checkout-saga.example/events';

/** One published type and `dataversion` with the JSON Schema of its whole envelope. */
export interface EventContract {
  type: EventType;
  version: number;
  schema: JsonObject;
}

/**
 * Every type and version in the catalogue, in catalogue order then ascending version.
 *
 * @example
 * catalogVersions()[0]; // { type: 'checkout.order.placed', version: 1, data: orderPlacedV1 }
 */
export function catalogVersions(): { type: EventType; version: number; data: z.ZodType }[] {
  return EVENT_TYPES.flatMap((type) => {
    const versions: Partial<Record<number, z.ZodType>> = eventCatalog[type];
    return Object.entries(versions)
      .flatMap(([v, data]) => (data ? [{ type, version: Number(v), data }] : []))
      .sort((a, b) => a.version - b.version);
  });
}

/**
 * `$id` of the JSON Schema of one type and version.
 *
 * @example
 * schemaId('payments.payment.charged', 1); // 'https://checkout-saga.example/events/payments.payment.charged/v1.json'
 */
export function schemaId(type: string, version: number): string {
  return `${SCHEMA_ID_BASE}/${type}/v${version}.json`;
}

/**
 * JSON Schema (draft 2020-12) of the full CloudEvents envelope of one type and version,
 * converted from the same zod schemas `parseEvent` uses, so both validators agree.
 *
 * @example
 * const schema = eventJsonSchema('payments.payment.charged', 1, paymentChargedV1);
 * schema.$id; // 'https://checkout-saga.example/events/payments.payment.charged/v1.json'
 */
export function eventJsonSchema(type: EventType, version: number, data: z.ZodType): JsonObject {
  const envelope = cloudEventSchema.extend({ type: z.literal(type), dataversion: z.literal(version), data });
  const converted = toJsonObject(
    z.toJSONSchema(envelope, {
      target: 'draft-2020-12',
      // 'output' would close every z.object with additionalProperties:false, so a consumer's
      // validator would reject an event carrying a newly added optional field. The wire body is
      // the *input* of the consumer's parse anyway.
      io: 'input',
      // Inlined, not $ref'd: each file must stand alone for code generators in other languages.
      reused: 'inline',
      cycles: 'throw',
      unrepresentable: 'throw',
    }),
  );
  const properties = converted.properties;
  if (isObject(properties)) {
    // z.literal(1) converts to `type: number`; an integer is what other languages should generate.
    properties.dataversion = { type: 'integer', const: version };
  }
  const closed = findClosedObject(converted, '$');
  if (closed)
    throw new Error(
      `${type} v${version}: ${closed} forbids additional properties; consumers must tolerate added fields`,
    );
  return canonical({
    ...converted,
    $id: schemaId(type, version),
    title: `${type} v${version}`,
    description:
      `CloudEvents 1.0 envelope of a \`${type}\` event with dataversion ${version}, published by the ` +
      `${serviceOf(type)} service on the NATS subject \`${type}\`. Unknown properties are allowed ` +
      `everywhere: later schema revisions of this version may add optional fields.`,
  });
}

/**
 * The JSON Schema of every type and version in the catalogue.
 *
 * @example
 * for (const { type, version, schema } of eventContracts()) console.log(type, version, schema.$id);
 */
export function eventContracts(): EventContract[] {
  return catalogVersions().map(({ type, version, data }) => ({
    type,
    version,
    schema: eventJsonSchema(type, version, data),
  }));
}

// Keyword order for readable, stable files: zod's own order has shifted between releases
// (e.g. `minItems` before `type`), which would otherwise show up as noise in every diff.
const KEYWORD_ORDER = [
  '$schema',
  '$id',
  'title',
  'description',
  'type',
  'const',
  'enum',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'multipleOf',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'required',
  'additionalProperties',
];
// Maps from a name to a schema: their keys are names, kept in declaration order.
const NAMED_SCHEMA_MAPS = new Set(['properties', '$defs', 'patternProperties', 'dependentSchemas']);

function canonical(schema: JsonObject): JsonObject {
  const rank = (k: string) => (KEYWORD_ORDER.includes(k) ? KEYWORD_ORDER.indexOf(k) : KEYWORD_ORDER.length);
  const keys = Object.keys(schema).sort(
    (a, b) => rank(a) - rank(b) || (rank(a) === KEYWORD_ORDER.length ? a.localeCompare(b) : 0),
  );
  const out: JsonObject = {};
  for (const key of keys) {
    const value = schema[key] as JsonValue;
    if (NAMED_SCHEMA_MAPS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, isObject(sub) ? canonical(sub) : sub]),
      );
    } else if (isObject(value)) {
      out[key] = canonical(value);
    } else if (Array.isArray(value)) {
      out[key] = value.map((v) => (isObject(v) ? canonical(v) : v));
    } else {
      out[key] = value;
    }
  }
  return out;
}

function findClosedObject(schema: JsonValue, path: string): string | undefined {
  if (Array.isArray(schema)) {
    for (const [i, v] of schema.entries()) {
      const found = findClosedObject(v, `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (!isObject(schema)) return undefined;
  if (schema.additionalProperties === false || schema.unevaluatedProperties === false) return path;
  for (const [k, v] of Object.entries(schema)) {
    const found = findClosedObject(v, `${path}.${k}`);
    if (found) return found;
  }
  return undefined;
}
