import { orderTotalCents, type CheckoutInput, type OrderItem, type ShippingAddress } from '../domain/order';
import { activeTraceparent, newTraceparent } from '../events/trace-context';
import { withTransaction, type Db, type Tx } from '../lib/db';
import type { Clock, Ids } from '../lib/runtime';
import { appendEvent } from '../outbox/append';
import { enqueueSagaStart } from '../starter/queue';
import { claimIdempotencyKey, rememberIdempotencyKey, type IdempotencyClaim } from './idempotency';

/** A checkout as the customer asks for it (the API's validated body). */
export interface CheckoutRequest {
  customerId: string;
  items: { sku: string; quantity: number }[];
  payment: { method: string };
  shippingAddress: ShippingAddress;
  currency: string;
}

/** The answer to an accepted checkout, stored with its Idempotency-Key and replayed as it was. */
export interface Accepted {
  orderId: string;
  status: 'PENDING';
}

/** An order as committed: everything its saga needs except the saga's own deadlines. */
export type PlacedOrder = Omit<CheckoutInput, 'paymentConfirmationTimeoutMs' | 'compensationAlertAfterMs'>;

export interface PlaceOrderDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  /** How long an Idempotency-Key is remembered. */
  idempotencyTtlMs: number;
}

/**
 * Places an order in one transaction: claims the Idempotency-Key, inserts the order, writes its
 * `checkout.order.placed` event to the outbox, queues its saga start (the saga starter starts it
 * once this commits) and stores the answer under the key.
 *
 * @returns the answer, and the new order; a replay of a key returns the stored answer only.
 * @throws IdempotencyKeyReused (from the claim) when the key came with another body.
 * @example
 * const { accepted, placed } = await placeOrder(deps, { principal, key, requestHash: requestHash(body) }, body, items);
 */
export async function placeOrder(
  deps: PlaceOrderDeps,
  claim: IdempotencyClaim,
  request: CheckoutRequest,
  items: OrderItem[],
): Promise<{ accepted: Accepted; placed?: PlacedOrder }> {
  return withTransaction(deps.db, async (tx) => {
    const replay = await claimIdempotencyKey<Accepted>(tx, claim);
    if (replay) return { accepted: replay };
    const orderId = deps.ids.uuid();
    const now = deps.clock.now();
    const placed: PlacedOrder = {
      orderId,
      customerId: request.customerId,
      items,
      totalCents: orderTotalCents(items),
      currency: request.currency,
      paymentMethod: request.payment.method,
      shippingAddress: request.shippingAddress,
      createdAt: now.toISOString(),
      // The request's span when traced, so the saga and every event of this order join its trace.
      traceparent: activeTraceparent() ?? newTraceparent(deps.ids),
    };
    await insertPlacedOrder(tx, deps, placed, now);
    await enqueueSagaStart(tx, orderId, now);
    const accepted: Accepted = { orderId, status: 'PENDING' };
    await rememberIdempotencyKey(tx, claim, { orderId, response: accepted, ttlMs: deps.idempotencyTtlMs });
    return { accepted, placed };
  });
}

/** The order row and its `checkout.order.placed` outbox row, in the caller's transaction. */
async function insertPlacedOrder(
  tx: Tx,
  deps: Pick<PlaceOrderDeps, 'clock' | 'ids'>,
  order: PlacedOrder,
  now: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO orders (id, customer_id, status, currency, total_cents, items, shipping_address, payment_method, traceparent, created_at, updated_at)
     VALUES ($1, $2, 'PENDING', $3, $4, $5, $6, $7, $8, $9, $9)`,
    [
      order.orderId,
      order.customerId,
      order.currency,
      order.totalCents,
      JSON.stringify(order.items),
      JSON.stringify(order.shippingAddress),
      order.paymentMethod,
      order.traceparent,
      now,
    ],
  );
  await appendEvent(
    tx,
    { clock: deps.clock, ids: deps.ids, source: '/checkout-saga/checkout' },
    {
      orderId: order.orderId,
      traceparent: order.traceparent,
      event: {
        type: 'checkout.order.placed',
        dataversion: 1,
        data: {
          orderId: order.orderId,
          customerId: order.customerId,
          items: order.items.map((i) => ({ ...i, lineTotalCents: i.quantity * i.unitPriceCents })),
          totalCents: order.totalCents,
          currency: order.currency,
          shippingAddress: order.shippingAddress,
          placedAt: now.toISOString(),
        },
      },
    },
  );
}
