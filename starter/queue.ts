import type { OrderItem, ShippingAddress } from '../domain/order';
import { withTransaction, type Db, type Tx } from '../lib/db';
import type { PlacedOrder } from '../checkouts/place-order';

/**
 * The `saga_starts` table (db/migrations/0005_saga_starts.sql): one row per committed order whose
 * saga has not been started yet. Written with the order, claimed and deleted by the saga starter,
 * deleted by a cancel before the start. Every function runs in the caller's transaction.
 */

/** The NOTIFY channel the saga starter LISTENs on; only a wake-up hint, never the source of truth. */
export const SAGA_STARTS_CHANNEL = 'saga_starts';

/** A claimed row: the order as placed, and how often Temporal refused it so far. */
export interface PendingStart {
  order: PlacedOrder;
  /** When the order was committed (database clock). */
  createdAt: Date;
  attempts: number;
}

/**
 * Queues the saga start of an order placed in `tx`, and wakes the starters once the transaction
 * commits (NOTIFY is delivered at commit, and not at all on rollback).
 *
 * @example
 * await enqueueSagaStart(tx, orderId, now);
 */
export async function enqueueSagaStart(tx: Tx, orderId: string, createdAt: Date): Promise<void> {
  await tx.query('INSERT INTO saga_starts (order_id, created_at, not_before) VALUES ($1, $2, $2)', [
    orderId,
    createdAt,
  ]);
  await tx.query('SELECT pg_notify($1, $2)', [SAGA_STARTS_CHANNEL, '']);
}

interface ClaimedRow {
  order_id: string;
  created_at: Date;
  attempts: number;
  customer_id: string;
  items: OrderItem[];
  total_cents: string;
  currency: string;
  payment_method: string;
  shipping_address: ShippingAddress;
  order_created_at: Date;
  traceparent: string;
}

/**
 * Claims up to `limit` due rows, oldest first, with their orders. The rows stay locked until `tx`
 * ends; rows another starter (or a cancel) holds are skipped, not waited for. Only the queue's
 * rows are locked (`FOR UPDATE OF s`): the saga's own activities lock the order row, and must not
 * wait for a start in flight.
 */
export async function claimDueStarts(tx: Tx, limit: number): Promise<PendingStart[]> {
  const { rows } = await tx.query<ClaimedRow>(
    `SELECT s.order_id, s.created_at, s.attempts, o.customer_id, o.items, o.total_cents, o.currency,
            o.payment_method, o.shipping_address, o.created_at AS order_created_at, o.traceparent
       FROM saga_starts s JOIN orders o ON o.id = s.order_id
      WHERE s.not_before <= now()
      ORDER BY s.seq
      LIMIT $1
      FOR UPDATE OF s SKIP LOCKED`,
    [limit],
  );
  return rows.map((r) => ({
    createdAt: r.created_at,
    attempts: r.attempts,
    order: {
      orderId: r.order_id,
      customerId: r.customer_id,
      items: r.items,
      totalCents: Number(r.total_cents),
      currency: r.currency,
      paymentMethod: r.payment_method,
      shippingAddress: r.shipping_address,
      createdAt: r.order_created_at.toISOString(),
      traceparent: r.traceparent,
    },
  }));
}

/** Records starts Temporal accepted (or found already started): the rows go. */
export async function recordStarted(tx: Tx, orderIds: readonly string[]): Promise<void> {
  if (orderIds.length === 0) return;
  await tx.query('DELETE FROM saga_starts WHERE order_id = ANY($1::uuid[])', [orderIds]);
}

/** Records a start Temporal refused: tried again no earlier than `retryInMs` from now. */
export async function recordRefused(tx: Tx, orderId: string, error: string, retryInMs: number): Promise<void> {
  await tx.query(
    `UPDATE saga_starts
        SET attempts = attempts + 1, last_error = $2, not_before = now() + make_interval(secs => $3)
      WHERE order_id = $1`,
    [orderId, error.slice(0, 1000), retryInMs / 1000],
  );
}

/**
 * Locks the order's row if its saga has not started, waiting for a starter that holds it (at
 * most the transaction's `lock_timeout`). True: no saga exists and none can start until `tx`
 * ends; false: the saga has been started (or the order was never queued).
 */
export async function lockUnstartedSaga(tx: Tx, orderId: string): Promise<boolean> {
  const { rowCount } = await tx.query('SELECT 1 FROM saga_starts WHERE order_id = $1 FOR UPDATE', [orderId]);
  return (rowCount ?? 0) > 0;
}

/** Forgets the queued start of an order that ended before its saga started (a cancel). */
export async function dropUnstartedSaga(tx: Tx, orderId: string): Promise<void> {
  await tx.query('DELETE FROM saga_starts WHERE order_id = $1', [orderId]);
}

/** Beyond this many queued starts the backlog gauge saturates, so a scrape stays cheap during an outage. */
export const START_BACKLOG_CAP = 100_000;

/**
 * Orders waiting for their saga (capped at `START_BACKLOG_CAP`) and the age of the oldest, from
 * the database clock. Under a 2 s statement timeout: it runs at every metrics scrape.
 */
export async function startBacklog(db: Db): Promise<{ orders: number; oldestAgeSeconds: number }> {
  return withTransaction(db, async (tx) => {
    await tx.query(`SET LOCAL statement_timeout = '2s'`);
    const { rows } = await tx.query<{ orders: number; oldest_age: number | null }>(
      `SELECT (SELECT count(*) FROM (SELECT 1 FROM saga_starts LIMIT $1) AS capped)::int AS orders,
              (SELECT extract(epoch FROM clock_timestamp() - created_at)::float8
                 FROM saga_starts ORDER BY seq LIMIT 1) AS oldest_age`,
      [START_BACKLOG_CAP],
    );
    return { orders: rows[0]?.orders ?? 0, oldestAgeSeconds: Math.max(0, rows[0]?.oldest_age ?? 0) };
  });
}
