import { EVENT_TYPES, serviceOf } from '../../events/catalog';
import { DLQ_HEADERS } from '../../events/dead-letters/publish';
import { TRACEPARENT_PATTERN } from '../../events/trace-context';
import type { JsonObject } from './json';
import type { EventContract } from './json-schema';

// Build-time only: the AsyncAPI document of the catalogue, from the per-version JSON Schemas.

/** `info.version` of the AsyncAPI document; bump it when the catalogue changes. */
export const EVENTS_API_VERSION = '1.0.0';

const EVENT_CONTENT_TYPE = 'application/cloudevents+json';
const NATS_SERVER = { host: '127.0.0.1:4222', url: 'nats://127.0.0.1:4222' };
const DLQ_CHANNEL = 'dead-letters';

const messageId = (type: string, version: number) => `${type}.v${version}`;
const operationId = (type: string) => `receive.${type}`;

/** Channels, receive operations and messages of one document, filled in document order. */
interface Sections {
  channels: JsonObject;
  operations: JsonObject;
  messages: JsonObject;
}

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
  const sections: Sections = { channels: {}, operations: {}, messages: {} };
  for (const type of EVENT_TYPES) addEventType(sections, type, contracts);
  addDeadLetters(sections);
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
    channels: sections.channels,
    operations: sections.operations,
    components: {
      messages: sections.messages,
      schemas: { EventHeaders: eventHeadersSchema(), DeadLetterHeaders: deadLetterHeadersSchema() },
    },
  };
}

/** The channel of one subject, its receive operation, and a message per published version. */
function addEventType(sections: Sections, type: (typeof EVENT_TYPES)[number], contracts: EventContract[]): void {
  const versions = contracts.filter((c) => c.type === type);
  if (versions.length === 0) return;
  const channelMessages: JsonObject = {};
  for (const { version, schema } of versions) {
    const id = messageId(type, version);
    channelMessages[id] = { $ref: `#/components/messages/${id}` };
    sections.messages[id] = {
      name: type,
      title: `${type} v${version}`,
      summary: `A \`${type}\` event, dataversion ${version}.`,
      contentType: EVENT_CONTENT_TYPE,
      headers: { $ref: '#/components/schemas/EventHeaders' },
      payload: schema,
    };
  }
  sections.channels[type] = {
    address: type,
    title: type,
    description: `Published by the ${serviceOf(type)} service. Tell versions apart by the envelope's \`dataversion\`.`,
    servers: [{ $ref: '#/servers/local' }],
    messages: channelMessages,
  };
  sections.operations[operationId(type)] = {
    action: 'receive',
    summary: `Subscribe to \`${type}\` (JetStream stream ${serviceOf(type).toUpperCase()}).`,
    channel: { $ref: `#/channels/${type}` },
    messages: versions.map((c) => ({ $ref: `#/channels/${type}/messages/${messageId(type, c.version)}` })),
  };
}

/** The dead-letter channel `dlq.{consumer}.{subject}`, its receive operation and its message. */
function addDeadLetters(sections: Sections): void {
  sections.channels[DLQ_CHANNEL] = {
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
  sections.operations['receive.dead-letters'] = {
    action: 'receive',
    summary: 'Inspect dead letters (what `npm run dlq` does).',
    channel: { $ref: `#/channels/${DLQ_CHANNEL}` },
    messages: [{ $ref: `#/channels/${DLQ_CHANNEL}/messages/deadLetter` }],
  };
  sections.messages.deadLetter = {
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
}

/** NATS headers on every event. */
function eventHeadersSchema(): JsonObject {
  return {
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
  };
}

/** The `Dlq-*` headers a dead letter adds to the original ones. */
function deadLetterHeadersSchema(): JsonObject {
  return {
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
  };
}
