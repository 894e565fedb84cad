import { createConsumer, type EventOf, type HandlerContext, type Handlers } from 'checkout-saga/events';
import { afterCommitCrash, defineSubscriber } from './definition';

/** Default durable consumer name of the order read model (`READ_MODEL_CONSUMER`). */
export const READ_MODEL_CONSUMER = 'order-read-model';

type Terminal = EventOf<'checkout.order.completed' | 'checkout.order.cancelled' | 'checkout.order.failed'>;

async function finish(
  event: Terminal,
  status: 'COMPLETED' | 'CANCELLED' | 'FAILED',
  { tx }: HandlerContext,
): Promise<void> {
  const reason = event.type === 'checkout.order.failed' ? event.data.failureReason : null;
  await tx.query(
    `UPDATE read_orders SET status = $2, failure_reason = $3, updated_at = $4, last_event_id = $5 WHERE order_id = $1`,
    [event.subject, status, reason, event.time, event.id],
  );
}

/**
 * The projection: `checkout.order.placed` creates the row; a terminal event sets its status. A
 * terminal event needs the placed event first, so after a redelivery that reorders them it is
 * parked until `placed` is applied.
 */
export const readModelHandlers: Handlers = {
  'checkout.order.placed': async (event, { tx }) => {
    const d = event.data;
    await tx.query(
      `INSERT INTO read_orders (order_id, customer_id, status, total_cents, currency, items, placed_at, updated_at, last_event_id)
       VALUES ($1, $2, 'PENDING', $3, $4, $5, $6, $6, $7) ON CONFLICT (order_id) DO NOTHING`,
      [d.orderId, d.customerId, d.totalCents, d.currency, JSON.stringify(d.items), d.placedAt, event.id],
    );
  },
  'checkout.order.completed': { after: ['checkout.order.placed'], handle: (e, ctx) => finish(e, 'COMPLETED', ctx) },
  'checkout.order.cancelled': { after: ['checkout.order.placed'], handle: (e, ctx) => finish(e, 'CANCELLED', ctx) },
  'checkout.order.failed': { after: ['checkout.order.placed'], handle: (e, ctx) => finish(e, 'FAILED', ctx) },
};

/**
 * Example subscriber of another team: the order read model (a CQRS projection) behind
 * `GET /orders?customerId=`, built only from `checkout.order.*` events with the exported kit.
 * Its durable consumer is `READ_MODEL_CONSUMER` (and, when new, starts at
 * `READ_MODEL_DELIVER_FROM`) unless the placement says otherwise.
 */
export const readModel = defineSubscriber({
  name: 'read-model',
  appName: 'checkout-read-model',
  pgRole: 'checkout_read_model',
  durables: [{ stream: 'CHECKOUT', name: READ_MODEL_CONSUMER }],
  tables: { read_orders: ['SELECT', 'INSERT', 'UPDATE'] },
  entryPoints: ['workers/read-model.ts'],
  consumers: (deps, context) => {
    const { config, placement } = context;
    const deliverFrom = placement.deliverFrom ?? config.readModel.deliverFrom;
    return [
      createConsumer(deps, {
        name: placement.name ?? config.readModel.consumer,
        ...(deliverFrom ? { deliverFrom } : {}),
        stream: 'CHECKOUT',
        // Batch mode: projection rows only: batches of events commit together.
        mode: 'batch',
        handlers: readModelHandlers,
        ...afterCommitCrash(context),
      }),
    ];
  },
});
