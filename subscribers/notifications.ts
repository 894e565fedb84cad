import { createConsumer, type EventOf, type HandlerContext } from 'checkout-saga/events';
import type { Logger } from '../lib/logger';
import { afterCommitCrash, defineSubscriber } from './definition';

/** Durable consumer name of the notifications subscriber. */
export const NOTIFICATIONS_CONSUMER = 'notifications';

type Terminal = EventOf<'checkout.order.completed' | 'checkout.order.cancelled' | 'checkout.order.failed'>;

const KIND = {
  'checkout.order.completed': 'ORDER_COMPLETED',
  'checkout.order.cancelled': 'ORDER_CANCELLED',
  'checkout.order.failed': 'ORDER_FAILED',
} as const;

function messageFor(event: Terminal): string {
  const total = `${(event.data.totalCents / 100).toFixed(2)} ${event.data.currency}`;
  switch (event.type) {
    case 'checkout.order.completed':
      return `Your order ${event.subject} (${total}) is on its way.`;
    case 'checkout.order.cancelled':
      return `Your order ${event.subject} was cancelled; any payment of ${total} has been refunded.`;
    case 'checkout.order.failed':
      return event.data.failureReason === 'INTERNAL_ERROR'
        ? `Something went wrong on our side with your order ${event.subject}; it was cancelled and you have not been charged.`
        : `We could not complete your order ${event.subject} (${event.data.failureReason}); you have not been charged.`;
  }
}

/**
 * One notification per order that ended. The consumer kit makes each event's effect happen once;
 * the table's primary key on the order makes a second terminal event for the same order a no-op
 * instead of a second message. One such second event is expected: a failed order's
 * `checkout.order.failed` comes as v2 and, during v1's deprecation period, v1 too (the first one
 * notifies). Any other second terminal event (which the saga never emits) is logged as a warning.
 */
async function notify(event: Terminal, { tx }: HandlerContext, logger: Logger): Promise<void> {
  const kind = KIND[event.type];
  const { rowCount } = await tx.query(
    `INSERT INTO notifications (order_id, customer_id, kind, message, event_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (order_id) DO NOTHING`,
    [event.subject, event.data.customerId, kind, messageFor(event), event.id],
  );
  if (rowCount !== 0) return;
  const { rows } = await tx.query<{ kind: string }>('SELECT kind FROM notifications WHERE order_id = $1', [
    event.subject,
  ]);
  const fields = { orderId: event.subject, eventId: event.id, type: event.type, dataversion: event.dataversion };
  if (rows[0]?.kind === kind) logger.debug(fields, 'order already notified of this end (another version of its event)');
  else logger.warn(fields, 'order already notified; not sending a second notification');
}

/**
 * Example subscriber of another team: customer notifications for completed, failed and cancelled
 * orders, written with the exported kit. Sending is recorded in `notifications` (a real sender
 * would deliver from there, keyed by order, so a retry never sends twice).
 */
export const notifications = defineSubscriber({
  name: 'notifications',
  appName: 'checkout-notifications',
  pgRole: 'checkout_notifications',
  durables: [{ stream: 'CHECKOUT', name: NOTIFICATIONS_CONSUMER }],
  tables: { notifications: ['SELECT', 'INSERT'] },
  entryPoints: ['workers/notifications.ts'],
  consumers: (deps, context) => [
    createConsumer(deps, {
      name: context.placement.name ?? NOTIFICATIONS_CONSUMER,
      ...(context.placement.deliverFrom ? { deliverFrom: context.placement.deliverFrom } : {}),
      ...afterCommitCrash(context),
      stream: 'CHECKOUT',
      // Batch mode: sending is a row here (delivered from it, keyed by order), so batches are safe.
      mode: 'batch',
      handlers: {
        'checkout.order.completed': (e, ctx) => notify(e, ctx, context.logger),
        'checkout.order.cancelled': (e, ctx) => notify(e, ctx, context.logger),
        'checkout.order.failed': (e, ctx) => notify(e, ctx, context.logger),
      },
    }),
  ],
});
