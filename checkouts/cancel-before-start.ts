import { OrderStatus, type CheckoutState, type StepStatus } from '../domain/order';
import { withTransaction, type Db, type Tx } from '../lib/db';
import type { Clock, Ids } from '../lib/runtime';
import { appendEvent } from '../outbox/append';
import { dropUnstartedSaga, lockUnstartedSaga } from '../starter/queue';
import { SAGA_STEPS } from '../workflows/steps';
import { loadStoredCheckout } from './stored-order';

export interface CancelBeforeStartDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
}

/**
 * Whether a saga, started but not recorded, has already run its first step. The order's row is
 * locked first: `reserveStock` locks it too, so it cannot commit between this check and the
 * cancel (it would then find the order CANCELLED and reserve nothing).
 */
async function sagaHasActed(tx: Tx, orderId: string): Promise<boolean> {
  await tx.query('SELECT 1 FROM orders WHERE id = $1 FOR UPDATE', [orderId]);
  const { rowCount } = await tx.query('SELECT 1 FROM stock_reservations WHERE order_id = $1', [orderId]);
  return (rowCount ?? 0) > 0;
}

/** What a step shows when its saga never ran. */
export const NOT_STARTED_DETAIL = 'cancelled before the saga started';

/**
 * How long a cancel waits for a saga starter that holds the order's queue row (a start in flight
 * answers within its timeout); past it the cancel is answered "try again" rather than kept waiting.
 */
const LOCK_TIMEOUT = '5s';

/**
 * Cancels an order whose saga has not started yet, in one transaction: with the order's queue row
 * locked (so no saga can start meanwhile), the order becomes CANCELLED with every step SKIPPED,
 * its `checkout.order.cancelled` event is written, and the queued start is dropped. Nothing was
 * reserved, charged or shipped, so nothing is undone.
 *
 * Should a start have been accepted by Temporal without being recorded (a starter that crashed
 * or timed out just then), that saga finds the order CANCELLED at its first step and ends
 * CANCELLED without taking effect (`reserveStock`, ORDER_CANCELLED_BEFORE_START). If that saga's
 * first step has already committed, the order is not cancelled here: the saga is asked (and
 * compensates), as for a recorded start.
 *
 * @returns the cancelled order (also for a retry, by `retryKey`, of a cancel that applied here),
 *   or `undefined` when its saga has already started (then the saga must be asked).
 * @throws the lock timeout's error when a starter holds the row past LOCK_TIMEOUT.
 * @example
 * const cancelled = await cancelBeforeStart({ db, clock, ids }, orderId);
 * if (!cancelled) await saga.cancel(orderId);
 */
export async function cancelBeforeStart(
  deps: CancelBeforeStartDeps,
  orderId: string,
  retryKey?: string,
): Promise<CheckoutState | undefined> {
  const cancelled = await withTransaction(deps.db, async (tx) => {
    await tx.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
    if (!(await lockUnstartedSaga(tx, orderId))) {
      // A retry of a cancel that already applied here answers as the first one did.
      return retryKey !== undefined && (await cancelledWith(tx, orderId, retryKey));
    }
    // Queued, yet its saga may run: started by a starter that died before recording it.
    if (await sagaHasActed(tx, orderId)) return false;
    const now = deps.clock.now();
    const steps: StepStatus[] = SAGA_STEPS.map((s) => ({
      name: s.name,
      kind: 'FORWARD',
      state: 'SKIPPED',
      detail: NOT_STARTED_DETAIL,
    }));
    const { rows } = await tx.query<{
      customer_id: string;
      total_cents: string;
      currency: string;
      traceparent: string;
    }>(
      `UPDATE orders SET status = $2, steps = $3, updated_at = $4 WHERE id = $1
       RETURNING customer_id, total_cents, currency, traceparent`,
      [orderId, OrderStatus.CANCELLED, JSON.stringify(steps), now],
    );
    const order = rows[0];
    if (!order) throw new Error(`order ${orderId} is queued for a saga but does not exist`);
    await appendEvent(
      tx,
      { clock: deps.clock, ids: deps.ids, source: '/checkout-saga/checkout' },
      {
        orderId,
        traceparent: order.traceparent,
        event: {
          type: 'checkout.order.cancelled',
          dataversion: 1,
          data: {
            orderId,
            customerId: order.customer_id,
            totalCents: Number(order.total_cents),
            currency: order.currency,
            cancelledAt: now.toISOString(),
          },
        },
      },
    );
    await dropUnstartedSaga(tx, orderId);
    if (retryKey !== undefined) await rememberCancel(tx, orderId, retryKey);
    return true;
  });
  return cancelled ? loadStoredCheckout(deps.db, orderId) : undefined;
}

/**
 * Cancels applied before a saga started are remembered by their retry key (the client's
 * Idempotency-Key, scoped to its token) in the idempotency store, for as long as a checkout's
 * key: once the saga has started, Temporal's update ids do the same job.
 */
const CANCEL_KEYS = 'cancel-before-start';
const REMEMBER_FOR = '24 hours';

async function rememberCancel(tx: Tx, orderId: string, retryKey: string): Promise<void> {
  await tx.query(
    `INSERT INTO idempotency_keys (principal, key, request_hash, order_id, response, expires_at)
     VALUES ($1, $2, $3, $4, '{}', now() + interval '${REMEMBER_FOR}') ON CONFLICT DO NOTHING`,
    [CANCEL_KEYS, retryKey, orderId, orderId],
  );
}

async function cancelledWith(tx: Tx, orderId: string, retryKey: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    'SELECT 1 FROM idempotency_keys WHERE principal = $1 AND key = $2 AND order_id = $3 AND expires_at > now()',
    [CANCEL_KEYS, retryKey, orderId],
  );
  return (rowCount ?? 0) > 0;
}
