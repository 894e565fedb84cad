import { isDeepStrictEqual } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { z } from 'zod';
import { EVENT_TYPES, eventCatalog, serviceOf, type EventType } from './catalog';
import { DLQ_HEADERS } from './dead-letter';
import { cloudEventSchema, TRACEPARENT_PATTERN } from './envelope';

// Build-time only (the generator script and tests): it pulls in `yaml`, a dev dependency, so
// runtime code must not import this module.

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** `info.version` of the AsyncAPI document; bump it when the catalogue changes. */
export const EVENTS_API_VERSION = '1.0.0';

/** Base of every schema `$id`; an identifier, not a URL anything is served from. */
export const SCHEMA_ID_BASE = 'https://checkout-saga.example/events';

export const ASYNCAPI_PATH = 'events/asyncapi.yaml';
export const JSON_SCHEMA_DIR = 'events/json-schema';
export const FIXTURE_DIR = 'events/fixtures';

const EVENT_CONTENT_TYPE = 'application/cloudevents+json';
const NATS_SERVER = { host: '127.0.0.1:4222', url: 'nats://127.0.0.1:4222' };

/** One published type and `dataversion` with the JSON Schema of its whole envelope. */
export interface EventContract {
  type: EventType;
  version: number;
  schema: JsonObject;
}

/** A file the generator writes, relative to the repository root. */
export interface ContractFile {
  path: string;
  text: string;
  /** Set for per-version JSON Schemas, which must stay compatible with what is on disk. */
  contract?: EventContract;
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
 * Repository-relative path of the JSON Schema of one type and version.
 *
 * @example
 * schemaFile('payments.payment.charged', 1); // 'events/json-schema/payments.payment.charged.v1.json'
 */
export function schemaFile(type: string, version: number): string {
  return `${JSON_SCHEMA_DIR}/${type}.v${version}.json`;
}

/**
 * Repository-relative path of the sample envelope of one type and version.
 *
 * @example
 * fixtureFile('payments.payment.charged', 1); // 'events/fixtures/payments.payment.charged.v1.json'
 */
export function fixtureFile(type: string, version: number): string {
  return `${FIXTURE_DIR}/${type}.v${version}.json`;
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

const messageId = (type: string, version: number) => `${type}.v${version}`;
const operationId = (type: string) => `receive.${type}`;
const DLQ_CHANNEL = 'dead-letters';

/**
 * AsyncAPI 3.0.0 document of the whole catalogue: one channel per subject with a message per
 * version (payload = the version's JSON Schema), receive operations for subscribers, and the
 * dead-letter channel `dlq.{consumer}.{subject}`.
 *
 * @example
 * const doc = asyncApiDocument(eventContracts());
 * Object.keys(doc.channels as object); // ['checkout.order.placed', ..., 'dead-letters']
 */
export function asyncApiDocument(contracts: EventContract[]): JsonObject {
  const channels: JsonObject = {};
  const operations: JsonObject = {};
  const messages: JsonObject = {};
  for (const type of EVENT_TYPES) {
    const versions = contracts.filter((c) => c.type === type);
    if (versions.length === 0) continue;
    const channelMessages: JsonObject = {};
    for (const { version, schema } of versions) {
      const id = messageId(type, version);
      channelMessages[id] = { $ref: `#/components/messages/${id}` };
      messages[id] = {
        name: type,
        title: `${type} v${version}`,
        summary: `A \`${type}\` event, dataversion ${version}.`,
        contentType: EVENT_CONTENT_TYPE,
        headers: { $ref: '#/components/schemas/EventHeaders' },
        payload: schema,
      };
    }
    channels[type] = {
      address: type,
      title: type,
      description: `Published by the ${serviceOf(type)} service. Tell versions apart by the envelope's \`dataversion\`.`,
      servers: [{ $ref: '#/servers/local' }],
      messages: channelMessages,
    };
    operations[operationId(type)] = {
      action: 'receive',
      summary: `Subscribe to \`${type}\` (JetStream stream ${serviceOf(type).toUpperCase()}).`,
      channel: { $ref: `#/channels/${type}` },
      messages: versions.map((c) => ({ $ref: `#/channels/${type}/messages/${messageId(type, c.version)}` })),
    };
  }
  channels[DLQ_CHANNEL] = {
    address: 'dlq.{consumer}.{subject}',
    title: 'Dead letters',
    description:
      'A message a consumer gave up on (e.g. maximum deliveries reached, or the event failed its ' +
      'schema), copied with its original body and headers plus the Dlq-* headers. JetStream stream DLQ.',
    servers: [{ $ref: '#/servers/local' }],
    parameters: {
      consumer: { description: 'Durable name of the consumer that dead-lettered the message.' },
      subject: { description: 'Subject the message was first published on.', enum: [...EVENT_TYPES] },
    },
    messages: { deadLetter: { $ref: '#/components/messages/deadLetter' } },
  };
  operations['receive.dead-letters'] = {
    action: 'receive',
    summary: 'Inspect dead letters (what `npm run dlq` does).',
    channel: { $ref: `#/channels/${DLQ_CHANNEL}` },
    messages: [{ $ref: `#/channels/${DLQ_CHANNEL}/messages/deadLetter` }],
  };
  messages.deadLetter = {
    name: 'deadLetter',
    title: 'Dead letter',
    summary: 'The original message, unchanged, with headers saying who gave up on it and why.',
    headers: { $ref: '#/components/schemas/DeadLetterHeaders' },
    payload: {
      description:
        'The original body byte for byte: usually one of the event envelopes, but possibly the ' +
        'malformed body that caused the dead letter, so it is not constrained here.',
    },
  };
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'checkout-saga events',
      version: EVENTS_API_VERSION,
      description:
        'Domain events of the checkout saga, published through a transactional outbox to NATS ' +
        'JetStream as CloudEvents 1.0 JSON envelopes. Subjects are `<service>.<entity>.<action>`.',
    },
    defaultContentType: EVENT_CONTENT_TYPE,
    servers: {
      local: {
        host: NATS_SERVER.host,
        protocol: 'nats',
        description: `The development stack's NATS server (${NATS_SERVER.url}, JetStream enabled).`,
      },
    },
    channels,
    operations,
    components: {
      messages,
      schemas: {
        EventHeaders: {
          type: 'object',
          properties: {
            'Nats-Msg-Id': {
              type: 'string',
              format: 'uuid',
              description: 'The envelope `id`; JetStream drops a republished duplicate within its duplicate window.',
            },
            traceparent: {
              type: 'string',
              pattern: TRACEPARENT_PATTERN.source,
              description: 'W3C trace context, the same value as the envelope `traceparent`.',
            },
            'Content-Type': { type: 'string', const: EVENT_CONTENT_TYPE },
          },
          required: ['Nats-Msg-Id', 'traceparent', 'Content-Type'],
        },
        DeadLetterHeaders: {
          type: 'object',
          description: 'Every header of the original message is copied as well (traceparent, Content-Type).',
          properties: {
            [DLQ_HEADERS.consumer]: { type: 'string', description: 'Consumer that gave up on the message.' },
            [DLQ_HEADERS.error]: { type: 'string', description: 'Why, on one line (at most 1000 characters).' },
            [DLQ_HEADERS.deliveryCount]: { type: 'string', pattern: '^[0-9]+$', description: 'Deliveries attempted.' },
            [DLQ_HEADERS.stream]: { type: 'string', description: 'Stream the message came from.' },
            [DLQ_HEADERS.streamSequence]: {
              type: 'string',
              pattern: '^[0-9]+$',
              description: 'Its sequence in that stream.',
            },
            [DLQ_HEADERS.subject]: { type: 'string', description: 'Subject it was published on.' },
            [DLQ_HEADERS.time]: { type: 'string', format: 'date-time', description: 'When it was dead-lettered.' },
          },
          required: Object.values(DLQ_HEADERS),
        },
      },
    },
  };
}

/**
 * Every generated artefact with its exact file content: the per-version JSON Schemas and the
 * AsyncAPI document. Tests compare these with the committed files.
 *
 * @example
 * for (const f of contractFiles()) writeFileSync(join(repoRoot, f.path), f.text);
 */
export function contractFiles(): ContractFile[] {
  const contracts = eventContracts();
  return [
    ...contracts.map((contract) => ({
      path: schemaFile(contract.type, contract.version),
      text: renderJson(contract.schema),
      contract,
    })),
    { path: ASYNCAPI_PATH, text: renderYaml(asyncApiDocument(contracts)) },
  ];
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

function toJsonObject(value: unknown): JsonObject {
  // A JSON round trip drops undefined members and proves the value is plain JSON.
  const json: unknown = JSON.parse(JSON.stringify(value));
  if (!isObject(json)) throw new Error('expected a JSON object');
  return json;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Compatibility within one type and version.

// Annotations change no accepted value, so rewording them is always allowed.
const ANNOTATIONS = new Set(['title', 'description', 'examples', '$comment', 'deprecated']);
const LOWER_BOUNDS = new Set(['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties', 'minContains']);
const UPPER_BOUNDS = new Set(['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties', 'maxContains']);
const SUBSCHEMA = new Set([
  'items',
  'additionalProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
]);
const SUBSCHEMA_LISTS = new Set(['prefixItems', 'allOf', 'anyOf', 'oneOf']);
const SUBSCHEMA_MAPS = new Set(['$defs', 'patternProperties', 'dependentSchemas']);

/**
 * Violations of the evolution rule for one published type and version: a new revision of its
 * schema may only add optional properties (at any depth). Anything else (a removed property,
 * an optional one made required or the reverse, a new required property, a changed type, enum,
 * format, const or pattern, a narrowed or widened constraint) breaks a producer or a consumer
 * of the published version and needs a new `dataversion` instead. Empty when compatible.
 *
 * @example
 * checkCompatible(committed, eventJsonSchema('payments.payment.charged', 1, paymentChargedV1));
 * // ['$.data.paymentId: property removed']
 */
export function checkCompatible(oldSchema: JsonValue, newSchema: JsonValue): string[] {
  const violations: string[] = [];
  compareSchemas(oldSchema, newSchema, '$', violations);
  return violations;
}

function compareSchemas(a: JsonValue, b: JsonValue, path: string, out: string[]): void {
  if (!isObject(a) || !isObject(b)) {
    // Boolean schemas (`true`/`false`) or garbage: only identical is safe.
    if (!isDeepStrictEqual(a, b)) out.push(`${path}: schema changed from ${show(a)} to ${show(b)}`);
    return;
  }
  if (!isDeepStrictEqual(a.type, b.type)) {
    // Everything below a changed type differs too; one line says it all.
    out.push(`${path}: type changed from ${show(a.type)} to ${show(b.type)}`);
    return;
  }
  compareProperties(a, b, path, out);
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    if (key === 'type' || key === 'properties' || key === 'required' || ANNOTATIONS.has(key)) continue;
    const av = a[key];
    const bv = b[key];
    if (av !== undefined && bv !== undefined && SUBSCHEMA.has(key)) {
      compareSchemas(av, bv, key === 'items' ? `${path}[]` : `${path}/${key}`, out);
    } else if (Array.isArray(av) && Array.isArray(bv) && SUBSCHEMA_LISTS.has(key) && av.length === bv.length) {
      av.forEach((sub, i) => compareSchemas(sub, bv[i] as JsonValue, `${path}/${key}[${i}]`, out));
    } else if (isObject(av) && isObject(bv) && SUBSCHEMA_MAPS.has(key)) {
      for (const name of new Set([...Object.keys(av), ...Object.keys(bv)])) {
        const as = av[name];
        const bs = bv[name];
        if (as === undefined) {
          if (key !== '$defs') out.push(`${path}/${key}/${name}: added`);
        } else if (bs === undefined) {
          out.push(`${path}/${key}/${name}: removed`);
        } else {
          compareSchemas(as, bs, `${path}/${key}/${name}`, out);
        }
      }
    } else if (!isDeepStrictEqual(av, bv)) {
      out.push(`${path}: ${describeChange(key, av, bv)}`);
    }
  }
}

function compareProperties(a: JsonObject, b: JsonObject, path: string, out: string[]): void {
  const ap = isObject(a.properties) ? a.properties : {};
  const bp = isObject(b.properties) ? b.properties : {};
  const ar = requiredSet(a);
  const br = requiredSet(b);
  for (const [name, as] of Object.entries(ap)) {
    const at = `${path}.${name}`;
    const bs = bp[name];
    if (bs === undefined) {
      out.push(`${at}: property removed`);
      continue;
    }
    if (ar.has(name) && !br.has(name))
      out.push(`${at}: required property became optional (consumers rely on it being present)`);
    if (!ar.has(name) && br.has(name))
      out.push(`${at}: optional property became required (published events may lack it)`);
    compareSchemas(as, bs, at, out);
  }
  for (const name of Object.keys(bp)) {
    if (!(name in ap) && br.has(name))
      out.push(`${path}.${name}: new property is required (a new property must be optional)`);
  }
  // `required` naming something that has no `properties` entry: compare those names as a set.
  const bare = (r: Set<string>, p: JsonObject) => [...r].filter((n) => !(n in p)).sort();
  if (!isDeepStrictEqual(bare(ar, ap), bare(br, bp))) {
    out.push(`${path}: required changed from ${show([...ar].sort())} to ${show([...br].sort())}`);
  }
}

function requiredSet(schema: JsonObject): Set<string> {
  const required = schema.required;
  return new Set(Array.isArray(required) ? required.filter((r): r is string => typeof r === 'string') : []);
}

function describeChange(key: string, before: JsonValue | undefined, after: JsonValue | undefined): string {
  if (before === undefined) return `${key} ${show(after)} added (narrows what is accepted)`;
  if (after === undefined) return `${key} ${show(before)} removed (widens what is accepted; consumers rely on it)`;
  if (typeof before === 'number' && typeof after === 'number') {
    const narrowed = LOWER_BOUNDS.has(key) ? after > before : UPPER_BOUNDS.has(key) ? after < before : undefined;
    if (narrowed !== undefined) return `${key} ${narrowed ? 'narrowed' : 'widened'} from ${before} to ${after}`;
  }
  return `${key} changed from ${show(before)} to ${show(after)}`;
}

function show(value: JsonValue | undefined): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}
