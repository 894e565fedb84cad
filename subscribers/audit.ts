import {
  createConsumer,
  EVENT_TYPES,
  STREAMS,
  streamFor,
  type HandlerFn,
  type Handlers,
  type ParsedEvent,
} from 'checkout-saga/events';
import { afterCommitCrash, defineSubscriber } from './definition';

/** Durable name of the audit subscriber's consumers (one per service stream). */
export const AUDIT_CONSUMER = 'order-audit';

/** Every service stream: the audit runs one consumer on each. */
const AUDITED = STREAMS.filter((s) => s.name !== 'DLQ');

/** Records the event, once, with its stream sequence. */
const record: HandlerFn<ParsedEvent> = async (event, { tx, message }) => {
  await tx.query(
    'INSERT INTO seen_events (consumer, event_id, subject, order_id, stream_seq) VALUES ($1, $2, $3, $4, $5)',
    [AUDIT_CONSUMER, event.id, event.type, event.subject, message.streamSequence],
  );
};

/**
 * Example subscriber, written as another team would with the exported kit: it records every event
 * of every service stream, once, with its stream sequence. Its consumers are always named
 * `AUDIT_CONSUMER` (the name it records), whatever the placement.
 */
export const audit = defineSubscriber({
  name: 'audit-subscriber',
  appName: 'checkout-audit-subscriber',
  pgRole: 'checkout_audit',
  durables: AUDITED.map((stream) => ({ stream: stream.name, name: AUDIT_CONSUMER })),
  tables: { seen_events: ['SELECT', 'INSERT'] },
  entryPoints: ['workers/audit.ts'],
  consumers: (deps, context) =>
    AUDITED.map((stream) => {
      const handlers = Object.fromEntries(
        EVENT_TYPES.filter((t) => streamFor(t) === stream.name).map((t) => [t, record]),
      ) as Handlers;
      return createConsumer(deps, {
        name: AUDIT_CONSUMER,
        stream: stream.name,
        handlers,
        filterSubjects: [...stream.subjects],
        // Batch mode: its only effect is an insert: batches of events commit together.
        mode: 'batch',
        ...afterCommitCrash(context),
      });
    }),
});
