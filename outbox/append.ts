import { dataSchemaFor, type DomainEvent } from '../events/catalog';
import type { CloudEvent } from '../events/envelope';
import type { Tx } from '../lib/db';
import { activeTraceparent, childTraceparent } from '../events/trace-context';
import type { Clock, Ids } from '../lib/runtime';

export interface OutboxDeps {
  clock: Clock;
  ids: Ids;
  /** CloudEvents `source`, e.g. `/checkout-saga/payments`. */
  source: string;
}

/** The NOTIFY channel the relay LISTENs on; only a wake-up hint, never the source of truth. */
export const OUTBOX_CHANNEL = 'outbox_rows';

/**
 * Writes one event into the outbox inside the caller's transaction, so it commits (or rolls
 * back) with the change it describes. The data is validated against the catalogue first:
 * an invalid event is a bug and fails the transaction rather than reaching the wire.
 *
 * @example
 * await appendEvent(tx, deps, { orderId, traceparent, event: { type: 'payments.payment.charged', dataversion: 1, data } });
 */
export async function appendEvent(
  tx: Tx,
  deps: OutboxDeps,
  args: { orderId: string; traceparent: string; event: DomainEvent },
): Promise<CloudEvent> {
  const { event } = args;
  const schema = dataSchemaFor(event.type, event.dataversion);
  if (!schema) throw new Error(`event ${event.type} v${event.dataversion} is not in the catalogue`);
  const data = schema.parse(event.data);
  const envelope: CloudEvent = {
    specversion: '1.0',
    id: deps.ids.uuid(),
    type: event.type,
    source: deps.source,
    subject: args.orderId,
    time: deps.clock.now().toISOString(),
    datacontenttype: 'application/json',
    dataversion: event.dataversion,
    // The span writing this row (an activity, the API request) when traced; otherwise a child of
    // the order's own traceparent, so the event still joins the order's trace.
    traceparent: activeTraceparent() ?? childTraceparent(args.traceparent, deps.ids),
    data,
  };
  await tx.query(
    `INSERT INTO outbox (event_id, subject, partition_key, envelope, headers) VALUES ($1, $2, $3, $4, $5)`,
    [
      envelope.id,
      envelope.type,
      args.orderId,
      JSON.stringify(envelope),
      JSON.stringify({ traceparent: envelope.traceparent }),
    ],
  );
  await tx.query('SELECT pg_notify($1, $2)', [OUTBOX_CHANNEL, '']);
  return envelope;
}
