import {
  createConsumer,
  EVENT_TYPES,
  STREAMS,
  streamFor,
  type HandlerFn,
  type Handlers,
  type ParsedEvent,
} from 'checkout-saga/events';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { runIfMain } from '../lib/main';
import { hostConsumers } from './subscriber-host';

/** Durable name of the audit subscriber's consumers (one per service stream). */
export const AUDIT_CONSUMER = 'order-audit';

/**
 * Example subscriber, written as another team would with the exported kit: it records every event
 * of every service stream, once, with its stream sequence.
 *
 * @example
 * await runAuditSubscriber(loadConfig(), logger, signal);
 */
export async function runAuditSubscriber(config: Config, logger: Logger, signal: AbortSignal): Promise<void> {
  const record: HandlerFn<ParsedEvent> = async (event, { tx, message }) => {
    await tx.query(
      'INSERT INTO seen_events (consumer, event_id, subject, order_id, stream_seq) VALUES ($1, $2, $3, $4, $5)',
      [AUDIT_CONSUMER, event.id, event.type, event.subject, message.streamSequence],
    );
  };
  await hostConsumers(config, logger, signal, 'checkout-audit-subscriber', (deps) =>
    STREAMS.filter((s) => s.name !== 'DLQ').map((stream) => {
      const handlers = Object.fromEntries(
        EVENT_TYPES.filter((t) => streamFor(t) === stream.name).map((t) => [t, record]),
      ) as Handlers;
      return createConsumer(deps, {
        name: AUDIT_CONSUMER,
        stream: stream.name,
        handlers,
        filterSubjects: [...stream.subjects],
      });
    }),
  );
}

await runIfMain(import.meta.url, 'audit-subscriber', runAuditSubscriber);
