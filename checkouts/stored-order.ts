import type { CheckoutState, OrderItem, ShippingAddress } from '../domain/order';
import type { Db } from '../lib/db';
import type { PlacedOrder } from './place-order';

/** Whether an order with this id is stored. */
export async function orderExists(db: Db, orderId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM orders WHERE id = $1', [orderId]);
  return (rowCount ?? 0) > 0;
}

/** The customer of a stored order, or `undefined` when no order has this id. */
export async function orderCustomer(db: Db, orderId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ customer_id: string }>('SELECT customer_id FROM orders WHERE id = $1', [orderId]);
  return rows[0]?.customer_id;
}

/**
 * A committed order as it was placed, to (re-)start its saga from.
 *
 * @throws Error when the order is not stored: callers only ask for orders they know were committed.
 */
export async function loadPlacedOrder(db: Db, orderId: string): Promise<PlacedOrder> {
  const { rows } = await db.query<{
    customer_id: string;
    items: OrderItem[];
    total_cents: string;
    currency: string;
    payment_method: string;
    shipping_address: ShippingAddress;
    created_at: Date;
    traceparent: string;
  }>(
    'SELECT customer_id, items, total_cents, currency, payment_method, shipping_address, created_at, traceparent FROM orders WHERE id = $1',
    [orderId],
  );
  const row = rows[0];
  if (!row) throw new Error(`order ${orderId} vanished`);
  return {
    orderId,
    customerId: row.customer_id,
    items: row.items,
    totalCents: Number(row.total_cents),
    currency: row.currency,
    paymentMethod: row.payment_method,
    shippingAddress: row.shipping_address,
    createdAt: row.created_at.toISOString(),
    traceparent: row.traceparent,
  };
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
