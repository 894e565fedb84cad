import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { DomainError, OrderNotFoundError } from '../domain/errors';
import type { OrderItem, ShippingAddress } from '../domain/order';
import type { Db, Tx } from '../lib/db';
import type { Clock, Ids } from '../lib/runtime';

/** What every activity factory is given. Providers are added per domain. */
export interface ActivityDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
}

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

/** Stock lines of an order, one per SKU, sorted so concurrent reservations lock rows in one order. */
export function stockLines(items: readonly Pick<OrderItem, 'sku' | 'quantity'>[]): { sku: string; quantity: number }[] {
  const bySku = new Map<string, number>();
  for (const item of items) bySku.set(item.sku, (bySku.get(item.sku) ?? 0) + item.quantity);
  return [...bySku.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([sku, quantity]) => ({ sku, quantity }));
}

/**
 * Locks the products rows of `skus` in SKU order. Every stock change takes its row locks this
 * way, so two orders touching the same SKUs cannot deadlock.
 */
export async function lockProducts(tx: Tx, skus: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await tx.query<{ sku: string; available: number }>(
    'SELECT sku, available FROM products WHERE sku = ANY($1) ORDER BY sku FOR UPDATE',
    [skus],
  );
  return new Map(rows.map((r) => [r.sku, r.available]));
}

type StockColumn = 'available' | 'reserved' | 'shipped';
export type StockLine = { sku: string; quantity: number };

/** Moves stock between two of `available`, `reserved` and `shipped`, for each line, locking the rows first. */
export async function moveStock(
  tx: Tx,
  lines: readonly StockLine[],
  from: StockColumn,
  to: StockColumn,
  at: Date,
): Promise<void> {
  if (lines.length === 0) return;
  await lockProducts(
    tx,
    lines.map((l) => l.sku),
  );
  await moveLockedStock(tx, lines, from, to, at);
}

/** {@link moveStock} for a caller that already holds the rows' locks (taken with {@link lockProducts}). */
export async function moveLockedStock(
  tx: Tx,
  lines: readonly StockLine[],
  from: StockColumn,
  to: StockColumn,
  at: Date,
): Promise<void> {
  if (lines.length === 0) return;
  await tx.query(
    `UPDATE products p SET ${from} = p.${from} - l.quantity, ${to} = p.${to} + l.quantity, updated_at = $3
     FROM unnest($1::text[], $2::int[]) AS l(sku, quantity) WHERE p.sku = l.sku`,
    [lines.map((l) => l.sku), lines.map((l) => l.quantity), at],
  );
}

/**
 * Runs an activity body and translates domain errors into Temporal failures of the shared
 * `ErrorType`s: business failures non-retryable, transient ones retryable. Other errors
 * (database down, bugs) pass through and are retried by the activity's retry policy.
 */
export async function atBoundary<T>(fn: () => Promise<T>): Promise<T> {
  const stopHeartbeat = startHeartbeat();
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DomainError) {
      throw ApplicationFailure.create({
        type: err.type,
        message: err.message,
        nonRetryable: !err.retryable,
        details: err.details ? [err.details] : [],
        cause: err,
      });
    }
    throw err;
  } finally {
    stopHeartbeat();
  }
}

const HEARTBEAT_EVERY_MS = 2_000;

/**
 * Heartbeats while an activity waits on a provider or the carrier, so a worker that dies
 * mid-call is noticed after the activity's heartbeat timeout (seconds) rather than its
 * start-to-close timeout, and the call is retried on another worker. Outside an activity (the
 * integration tests call activities as plain functions) there is nothing to heartbeat to.
 */
function startHeartbeat(): () => void {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return () => undefined;
  }
  const timer = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
  return () => clearInterval(timer);
}
