import { OrderCancelledBeforeStartError, OutOfStockError, StepAlreadyCompensatedError } from '../domain/errors';
import { OrderStatus } from '../domain/order';
import { withTransaction } from '../lib/db';
import { appendEvent } from '../outbox/append';
import { atBoundary } from './boundary';
import type { ActivityDeps } from './index';
import { lockOrder } from './order-lock';
import { lockProducts, moveLockedStock, moveStock, stockLines, type StockLine } from './stock';

type Shortage = { sku: string; requested: number; available: number };

type ReserveOutcome =
  | { kind: 'reserved'; items: StockLine[] }
  | { kind: 'failed'; shortages: Shortage[] }
  | { kind: 'compensated' }
  | { kind: 'cancelled-before-start' };

/**
 * Stock activities. Each commits the stock change and its event in one transaction and is
 * idempotent per order: a retry finds the recorded outcome and repeats it, with no new event.
 *
 * @example
 * const { reserveStock, releaseStock } = createInventoryActivities({ db, clock, ids });
 */
export function createInventoryActivities(deps: ActivityDeps) {
  const { db } = deps;
  const outbox = { ...deps, source: '/checkout-saga/inventory' };

  return {
    /** Reserves every line of the order, or none (OUT_OF_STOCK, non-retryable). */
    async reserveStock(input: { orderId: string }): Promise<{ items: StockLine[] }> {
      return atBoundary(async () => {
        const outcome = await withTransaction(db, async (tx): Promise<ReserveOutcome> => {
          const order = await lockOrder(tx, input.orderId);
          const prior = await tx.query<{ status: string; items: { lines: StockLine[]; shortages?: Shortage[] } }>(
            'SELECT status, items FROM stock_reservations WHERE order_id = $1',
            [order.id],
          );
          const previous = prior.rows[0];
          if (previous?.status === 'RESERVED') return { kind: 'reserved', items: previous.items.lines };
          if (previous?.status === 'FAILED') return { kind: 'failed', shortages: previous.items.shortages ?? [] };
          if (previous?.status === 'RELEASED') return { kind: 'compensated' };
          // Cancelled before its saga started, and this saga was started anyway: reserve nothing.
          if (order.status === OrderStatus.CANCELLED) return { kind: 'cancelled-before-start' };

          const lines = stockLines(order.items);
          const available = await lockProducts(
            tx,
            lines.map((l) => l.sku),
          );
          const shortages = lines
            .map((l) => ({ sku: l.sku, requested: l.quantity, available: available.get(l.sku) ?? 0 }))
            .filter((s) => s.available < s.requested);
          const now = deps.clock.now();

          if (shortages.length > 0) {
            await tx.query(
              `INSERT INTO stock_reservations (order_id, status, items, created_at, updated_at) VALUES ($1, 'FAILED', $2, $3, $3)`,
              [order.id, JSON.stringify({ lines, shortages }), now],
            );
            await appendEvent(tx, outbox, {
              orderId: order.id,
              traceparent: order.traceparent,
              event: {
                type: 'inventory.stock.reservation_failed',
                dataversion: 1,
                data: { orderId: order.id, items: lines, shortages, failedAt: now.toISOString() },
              },
            });
            return { kind: 'failed', shortages };
          }

          await moveLockedStock(tx, lines, 'available', 'reserved', now);
          await tx.query(
            `INSERT INTO stock_reservations (order_id, status, items, created_at, updated_at) VALUES ($1, 'RESERVED', $2, $3, $3)`,
            [order.id, JSON.stringify({ lines }), now],
          );
          await appendEvent(tx, outbox, {
            orderId: order.id,
            traceparent: order.traceparent,
            event: {
              type: 'inventory.stock.reserved',
              dataversion: 1,
              data: { orderId: order.id, items: lines, reservedAt: now.toISOString() },
            },
          });
          return { kind: 'reserved', items: lines };
        });
        deps.crashPoints?.reach('saga-worker.activity-after-commit');

        if (outcome.kind === 'failed') {
          throw new OutOfStockError(`not enough stock for ${outcome.shortages.map((s) => s.sku).join(', ')}`, {
            shortages: outcome.shortages,
          });
        }
        if (outcome.kind === 'compensated') {
          throw new StepAlreadyCompensatedError(`stock of order ${input.orderId} was already released`);
        }
        if (outcome.kind === 'cancelled-before-start') {
          throw new OrderCancelledBeforeStartError(`order ${input.orderId} was cancelled before its saga started`);
        }
        return { items: outcome.items };
      });
    },

    /**
     * Returns reserved stock to `available`. With no reservation on record it leaves a tombstone,
     * so a reservation attempt still in flight cannot take effect afterwards.
     */
    async releaseStock(input: { orderId: string }): Promise<{ released: StockLine[] }> {
      return atBoundary(() =>
        withTransaction(db, async (tx) => {
          const order = await lockOrder(tx, input.orderId);
          const now = deps.clock.now();
          const prior = await tx.query<{ status: string; items: { lines: StockLine[] } }>(
            'SELECT status, items FROM stock_reservations WHERE order_id = $1',
            [order.id],
          );
          const previous = prior.rows[0];
          if (!previous) {
            await tx.query(
              `INSERT INTO stock_reservations (order_id, status, items, created_at, updated_at) VALUES ($1, 'RELEASED', $2, $3, $3)`,
              [order.id, JSON.stringify({ lines: [] }), now],
            );
            return { released: [] };
          }
          if (previous.status !== 'RESERVED') return { released: [] };
          const lines = previous.items.lines;
          await moveStock(tx, lines, 'reserved', 'available', now);
          await tx.query(`UPDATE stock_reservations SET status = 'RELEASED', updated_at = $2 WHERE order_id = $1`, [
            order.id,
            now,
          ]);
          await appendEvent(tx, outbox, {
            orderId: order.id,
            traceparent: order.traceparent,
            event: {
              type: 'inventory.stock.released',
              dataversion: 1,
              data: { orderId: order.id, items: lines, releasedAt: now.toISOString() },
            },
          });
          return { released: lines };
        }),
      );
    },
  };
}
