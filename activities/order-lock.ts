import { OrderNotFoundError } from '../domain/errors';
import type { OrderItem, ShippingAddress } from '../domain/order';
import type { Tx } from '../lib/db';

/** The order row as activities need it; read under the order's row lock. */
export interface LockedOrder {
  id: string;
  customerId: string;
  status: string;
  currency: string;
  totalCents: number;
  items: OrderItem[];
  shippingAddress: ShippingAddress;
  paymentMethod: string;
  traceparent: string;
}

interface OrderRow {
  id: string;
  customer_id: string;
  status: string;
  currency: string;
  total_cents: string;
  items: OrderItem[];
  shipping_address: ShippingAddress;
  payment_method: string;
  traceparent: string;
}

/**
 * Locks the order row for the rest of the transaction. Every step of one order takes this lock
 * first, so a retried or zombie attempt waits for the previous one and then sees its outcome,
 * and the order's outbox rows are numbered in commit order.
 */
export async function lockOrder(tx: Tx, orderId: string): Promise<LockedOrder> {
  const { rows } = await tx.query<OrderRow>(
    `SELECT id, customer_id, status, currency, total_cents, items, shipping_address, payment_method, traceparent
     FROM orders WHERE id = $1 FOR UPDATE`,
    [orderId],
  );
  const row = rows[0];
  if (!row) throw new OrderNotFoundError(`order ${orderId} does not exist`);
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    currency: row.currency,
    totalCents: Number(row.total_cents),
    items: row.items,
    shippingAddress: row.shipping_address,
    paymentMethod: row.payment_method,
    traceparent: row.traceparent,
  };
}
