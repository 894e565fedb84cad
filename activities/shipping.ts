import { ShippingUnavailableError, StepAlreadyCompensatedError } from '../domain/errors';
import { withTransaction, type Tx } from '../lib/db';
import { appendEvent } from '../outbox/append';
import type { Carrier } from './providers/carrier';
import { atBoundary } from './boundary';
import type { ActivityDeps } from './index';
import { lockOrder } from './order-lock';
import { moveStock, stockLines } from './stock';

interface ShipmentRow {
  status: 'CREATED' | 'FAILED' | 'CANCELLED';
  shipment_id: string | null;
  tracking_number: string | null;
  items: { sku: string; quantity: number }[];
}

/** The carrier idempotency key of an order's shipment. */
export function shipmentKey(orderId: string): string {
  return `order:${orderId}:shipment`;
}

async function shipmentOf(tx: Tx, orderId: string): Promise<ShipmentRow | undefined> {
  const { rows } = await tx.query<ShipmentRow>(
    'SELECT status, shipment_id, tracking_number, items FROM shipments WHERE order_id = $1',
    [orderId],
  );
  return rows[0];
}

type ShipOutcome =
  { kind: 'created'; shipmentId: string; trackingNumber: string } | { kind: 'unavailable' } | { kind: 'compensated' };

/**
 * Shipping activities over an injected carrier. A created shipment moves the order's stock from
 * `reserved` to `shipped`; cancelling it moves it back.
 *
 * @example
 * const shipping = createShippingActivities({ db, clock, ids, carrier: createSimulatedCarrier({ db, ids }) });
 */
export function createShippingActivities(deps: ActivityDeps & { carrier: Carrier }) {
  const { db, carrier } = deps;
  const outbox = { ...deps, source: '/checkout-saga/shipping' };

  function fromRow(row: ShipmentRow): ShipOutcome {
    if (row.status === 'CREATED')
      return { kind: 'created', shipmentId: row.shipment_id ?? '', trackingNumber: row.tracking_number ?? '' };
    return row.status === 'FAILED' ? { kind: 'unavailable' } : { kind: 'compensated' };
  }

  return {
    /** Books the shipment. SHIPPING_UNAVAILABLE (non-retryable) for destinations the carrier does not serve. */
    async shipOrder(input: { orderId: string }): Promise<{ shipmentId: string; trackingNumber: string }> {
      return atBoundary(async () => {
        const { order, prior } = await withTransaction(db, async (tx) => {
          const locked = await lockOrder(tx, input.orderId);
          return { order: locked, prior: await shipmentOf(tx, locked.id) };
        });
        let outcome: ShipOutcome;
        if (prior) {
          outcome = fromRow(prior);
        } else {
          const result = await carrier.createShipment({
            idempotencyKey: shipmentKey(order.id),
            address: order.shippingAddress,
          });
          outcome = await withTransaction(db, async (tx): Promise<ShipOutcome> => {
            const locked = await lockOrder(tx, input.orderId);
            const current = await shipmentOf(tx, locked.id);
            if (current) return fromRow(current);
            const now = deps.clock.now();
            const lines = stockLines(locked.items);
            if (result.status !== 'created') {
              const status = result.status === 'unavailable' ? 'FAILED' : 'CANCELLED';
              await tx.query(
                `INSERT INTO shipments (order_id, status, items, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
                [locked.id, status, JSON.stringify(lines), now],
              );
              return result.status === 'unavailable' ? { kind: 'unavailable' } : { kind: 'compensated' };
            }
            await moveStock(tx, lines, 'reserved', 'shipped', now);
            await tx.query(
              `INSERT INTO shipments (order_id, status, shipment_id, carrier, tracking_number, items, created_at, updated_at)
               VALUES ($1, 'CREATED', $2, $3, $4, $5, $6, $6)`,
              [locked.id, result.shipmentId, result.carrier, result.trackingNumber, JSON.stringify(lines), now],
            );
            await appendEvent(tx, outbox, {
              orderId: locked.id,
              traceparent: locked.traceparent,
              event: {
                type: 'shipping.shipment.created',
                dataversion: 1,
                data: {
                  orderId: locked.id,
                  shipmentId: result.shipmentId,
                  carrier: result.carrier,
                  trackingNumber: result.trackingNumber,
                  shippingAddress: locked.shippingAddress,
                  items: lines,
                  createdAt: now.toISOString(),
                },
              },
            });
            return { kind: 'created', shipmentId: result.shipmentId, trackingNumber: result.trackingNumber };
          });
        }
        if (outcome.kind === 'unavailable') {
          throw new ShippingUnavailableError(`carrier does not deliver to ${order.shippingAddress.country}`, {
            country: order.shippingAddress.country,
          });
        }
        if (outcome.kind === 'compensated')
          throw new StepAlreadyCompensatedError(`shipment of order ${order.id} was already cancelled`);
        return { shipmentId: outcome.shipmentId, trackingNumber: outcome.trackingNumber };
      });
    },

    /** Cancels the shipment (and returns its stock to `reserved`), or closes the carrier key if none exists. */
    async cancelShipment(input: { orderId: string }): Promise<{ cancelled: boolean }> {
      return atBoundary(async () => {
        const prior = await withTransaction(db, async (tx) => shipmentOf(tx, (await lockOrder(tx, input.orderId)).id));
        if (prior && prior.status !== 'CREATED')
          return { cancelled: prior.status === 'CANCELLED' && prior.shipment_id !== null };
        const result = await carrier.cancelShipment({ idempotencyKey: shipmentKey(input.orderId) });
        return withTransaction(db, async (tx) => {
          const order = await lockOrder(tx, input.orderId);
          const current = await shipmentOf(tx, order.id);
          const now = deps.clock.now();
          if (current && current.status !== 'CREATED')
            return { cancelled: current.status === 'CANCELLED' && current.shipment_id !== null };
          const lines = stockLines(order.items);
          if (result.status === 'voided') {
            await tx.query(
              `INSERT INTO shipments (order_id, status, items, created_at, updated_at) VALUES ($1, 'CANCELLED', $2, $3, $3)`,
              [order.id, JSON.stringify(lines), now],
            );
            return { cancelled: false };
          }
          if (current) {
            await moveStock(tx, current.items, 'shipped', 'reserved', now);
            await tx.query(`UPDATE shipments SET status = 'CANCELLED', updated_at = $2 WHERE order_id = $1`, [
              order.id,
              now,
            ]);
          } else {
            // The carrier booked it but the worker died before recording: record it as created-then-cancelled.
            await tx.query(
              `INSERT INTO shipments (order_id, status, shipment_id, items, created_at, updated_at) VALUES ($1, 'CANCELLED', $2, $3, $4, $4)`,
              [order.id, result.shipmentId, JSON.stringify(lines), now],
            );
          }
          await appendEvent(tx, outbox, {
            orderId: order.id,
            traceparent: order.traceparent,
            event: {
              type: 'shipping.shipment.cancelled',
              dataversion: 1,
              data: { orderId: order.id, shipmentId: result.shipmentId, cancelledAt: now.toISOString() },
            },
          });
          return { cancelled: true };
        });
      });
    },
  };
}
