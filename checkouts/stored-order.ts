import type { CheckoutState, OrderItem } from '../domain/order';
import type { Db } from '../lib/db';

/** The customer of a stored order, or `undefined` when no order has this id. */
export async function orderCustomer(db: Db, orderId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ customer_id: string }>('SELECT customer_id FROM orders WHERE id = $1', [orderId]);
  return rows[0]?.customer_id;
}

/**
 * Whether an order with this id is stored and, if so, whether its saga has been started: an
 * order is `queued` from its commit until the saga starter's start is accepted (or a cancel ends
 * it first).
 */
export async function sagaStage(db: Db, orderId: string): Promise<'unknown' | 'queued' | 'started'> {
  const { rows } = await db.query<{ queued: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM saga_starts WHERE order_id = $1) AS queued FROM orders WHERE id = $1',
    [orderId],
  );
  const row = rows[0];
  return row === undefined ? 'unknown' : row.queued ? 'queued' : 'started';
}

/**
 * The order as its row has it: the row learns the saga's steps and outcome when the saga writes
 * them, so it may lag behind the saga's live state.
 */
export async function loadStoredCheckout(db: Db, orderId: string): Promise<CheckoutState | undefined> {
  const { rows } = await db.query<{
    id: string;
    status: CheckoutState['status'];
    failure_reason: CheckoutState['failureReason'] | null;
    customer_id: string;
    items: OrderItem[];
    total_cents: string;
    currency: string;
    steps: CheckoutState['steps'];
    created_at: Date;
    updated_at: Date;
  }>(
    'SELECT id, status, failure_reason, customer_id, items, total_cents, currency, steps, created_at, updated_at FROM orders WHERE id = $1',
    [orderId],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    orderId: row.id,
    status: row.status,
    ...(row.failure_reason ? { failureReason: row.failure_reason } : {}),
    customerId: row.customer_id,
    items: row.items,
    totalCents: Number(row.total_cents),
    currency: row.currency,
    steps: row.steps,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
