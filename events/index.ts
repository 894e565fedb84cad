/**
 * The events package other teams import as `checkout-saga/events`: the catalogue (zod schemas and
 * TypeScript types of every event type and version), the CloudEvents envelope parser, the stream
 * declarations, and the idempotent consumer kit with its tables (`migrateConsumerKit`) and its
 * dead-letter tooling. Runtime only, and nothing from the checkout's own code: build-time contract
 * generation lives in scripts/contracts/, and this package only ships its committed output.
 *
 * @example
 * import { createConsumer, type EventOf } from 'checkout-saga/events';
 * const consumer = createConsumer({ nc, db, logger }, {
 *   name: 'loyalty-points', stream: 'CHECKOUT',
 *   handlers: { 'checkout.order.completed': async (e: EventOf<'checkout.order.completed'>, { tx }) => { await tx.query('...'); } },
 * });
 * await migrateConsumerKit(db); // once, or apply CONSUMER_KIT_SCHEMA with your migration tool
 * await consumer.run(signal);
 */
export {
  eventCatalog,
  EVENT_TYPES,
  dataSchemaFor,
  isEventType,
  serviceOf,
  type DomainEvent,
  type EventData,
  type EventType,
} from './catalog';
export { cloudEventSchema, parseEvent, type CloudEvent, type ParsedEvent, type ParseResult } from './envelope';
export { TRACEPARENT_PATTERN } from './trace-context';
export { STREAMS, streamFor, ensureStreams, DEFAULT_MAX_AGE_MS, type StreamName, type StreamSettings } from './streams';
export {
  createConsumer,
  EventConsumer,
  migrateConsumerKit,
  CONSUMER_KIT_SCHEMA,
  withTransaction,
  type ConsumerDeps,
  type ConsumerLogger,
  type Db,
  type Tx,
  type ConsumerOptions,
  type ConsumerStats,
  type EventOf,
  type HandlerContext,
  type HandlerFn,
  type HandlerSpec,
  type Handlers,
  type MessageInfo,
  type Outcome,
  DEFAULT_MARK_RETENTION_MS,
  sweepProcessedMarks,
} from './consumer';
export { DLQ_HEADERS, DLQ_STREAM, dlqSubject, deadLetter, publishDeadLetter } from './dead-letters/publish';
export {
  CONSUMER_OUTCOMES,
  createConsumerMetrics,
  noopConsumerMetrics,
  type ConsumerGaugeSource,
  type ConsumerLabels,
  type ConsumerMetrics,
  type ConsumerOutcome,
  type ScrapeErrorHandler,
  type SettleTiming,
} from './metrics';
export {
  assertConsumerName,
  countDeadLetters,
  DeadLetterNotFound,
  discardDeadLetter,
  listDeadLetters,
  showDeadLetter,
  NotADeadLetter,
  type DeadLetter,
  type DeadLetterEntry,
} from './dead-letters/admin';
export {
  replayAll,
  replayDeadLetter,
  DeadLetterNotRemoved,
  REPLAYED_FROM_HEADER,
  ReplayPublishFailed,
  type ReplayOutcome,
  type ReplayResult,
} from './dead-letters/replay';
