import type { DomainEvent } from '../events/catalog';
import type { FailureReason, StepStatus } from '../domain/order';
import { FailureReason as Reason, TERMINAL_STATUSES } from '../domain/order';
import { withTransaction } from '../lib/db';
import { appendEvent } from '../outbox/append';
import { atBoundary } from './boundary';
import type { ActivityDeps } from './index';
import { lockOrder } from './order-lock';

export type FinalOutcome =
  { status: 'COMPLETED' } | { status: 'CANCELLED' } | { status: 'FAILED'; failureReason: FailureReason };

type OrderFacts = { orderId: string; customerId: string; totalCents: number; currency: string };

/**
 * The events of an order's end, in the order they are written. A failure is `checkout.order.failed`
 * v2, then v1 as well while v1 is published beside it (docs/events.md, "Deprecations"), except for
 * INTERNAL_ERROR, a reason v1 cannot carry. v2 comes first so a consumer of both applies the newer one.
 */
function terminalEvents(outcome: FinalOutcome, base: OrderFacts, at: string): DomainEvent[] {
  switch (outcome.status) {
    case 'COMPLETED':
      return [{ type: 'checkout.order.completed', dataversion: 1, data: { ...base, completedAt: at } }];
    case 'CANCELLED':
      return [{ type: 'checkout.order.cancelled', dataversion: 1, data: { ...base, cancelledAt: at } }];
    case 'FAILED': {
      const { failureReason } = outcome;
      const v2: DomainEvent = {
        type: 'checkout.order.failed',
        dataversion: 2,
        data: { ...base, failureReason, failedAt: at },
      };
      return failureReason === Reason.INTERNAL_ERROR
        ? [v2]
        : [v2, { type: 'checkout.order.failed', dataversion: 1, data: { ...base, failureReason, failedAt: at } }];
    }
  }
}

/**
 * Order activities: record the saga's outcome on the order with its `checkout.order.*` event.
 *
 * @example
 * const { finalizeOrder } = createOrderActivities({ db, clock, ids });
 */
export function createOrderActivities(deps: ActivityDeps) {
  const outbox = { ...deps, source: '/checkout-saga/checkout' };
  return {
    /** Sets the terminal status once; a retry after commit changes nothing and emits nothing. */
    async finalizeOrder(input: {
      orderId: string;
      outcome: FinalOutcome;
      steps: StepStatus[];
    }): Promise<{ changed: boolean }> {
      return atBoundary(() =>
        withTransaction(deps.db, async (tx) => {
          const order = await lockOrder(tx, input.orderId);
          if ((TERMINAL_STATUSES as readonly string[]).includes(order.status)) return { changed: false };
          const now = deps.clock.now();
          const { outcome } = input;
          const failureReason = outcome.status === 'FAILED' ? outcome.failureReason : null;
          await tx.query(
            `UPDATE orders SET status = $2, failure_reason = $3, steps = $4, updated_at = $5 WHERE id = $1`,
            [order.id, outcome.status, failureReason, JSON.stringify(input.steps), now],
          );
          const base = {
            orderId: order.id,
            customerId: order.customerId,
            totalCents: order.totalCents,
            currency: order.currency,
          };
          for (const event of terminalEvents(outcome, base, now.toISOString()))
            await appendEvent(tx, outbox, { orderId: order.id, traceparent: order.traceparent, event });
          return { changed: true };
        }),
      );
    },
  };
}
