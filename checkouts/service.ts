import { checkoutWorkflowId, UUID_PATTERN, type CheckoutState } from '../domain/order';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import type { Clock, Ids } from '../lib/runtime';
import { OrderNotFound } from './errors';
import { requestHash } from './idempotency';
import { placeOrder, type Accepted, type CheckoutRequest } from './place-order';
import { priceItems } from './pricing';
import { readCheckout } from './read';
import type { SagaClient } from './saga-client';
import { loadPlacedOrder, orderExists } from './stored-order';

export interface CheckoutServiceDeps {
  db: Db;
  saga: SagaClient;
  clock: Clock;
  ids: Ids;
  /** How long an Idempotency-Key is remembered. */
  idempotencyTtlMs: number;
  logger: Logger;
}

/**
 * The checkout's use cases: place an order, command its saga, read it back. Failures are
 * checkout errors (`./errors`), never HTTP answers.
 *
 * @example
 * const saga = createSagaClient({ temporal, taskQueue: 'checkout', ids, deadlines, logger });
 * const service = createCheckoutService({ db, saga, clock, ids, idempotencyTtlMs: 86_400_000, logger });
 * const { orderId } = await service.place(principal, key, body);
 */
export function createCheckoutService(deps: CheckoutServiceDeps) {
  const { db, saga } = deps;

  /** The order must exist before its saga is asked anything: an unknown id is OrderNotFound, not a Temporal error. */
  async function mustExist(orderId: string): Promise<void> {
    if (!UUID_PATTERN.test(orderId) || !(await orderExists(db, orderId))) throw new OrderNotFound(orderId);
  }

  return {
    /**
     * Prices the order from the catalog, places it (order, `checkout.order.placed` event and
     * Idempotency-Key in one transaction), then starts the saga. Requests with one key are
     * serialised; a replay re-issues the (idempotent) start, which also recovers a request that
     * crashed between commit and start.
     *
     * @throws UnknownSku, IdempotencyKeyReused
     */
    async place(principal: string, key: string, body: CheckoutRequest): Promise<Accepted> {
      const claim = { principal, key, requestHash: requestHash(body) };
      const items = await priceItems(db, body.items);
      const { accepted, placed } = await placeOrder(deps, claim, body, items);
      // A replay has no order in hand: load the stored one and re-issue the idempotent start.
      await saga.start(placed ?? (await loadPlacedOrder(db, accepted.orderId)));
      deps.logger.info(
        {
          orderId: accepted.orderId,
          workflowId: checkoutWorkflowId(accepted.orderId),
          customerId: body.customerId,
          replayed: placed === undefined,
        },
        'checkout accepted',
      );
      return accepted;
    },

    /**
     * Cancels the order (accepted until it ships; then compensated to CANCELLED).
     *
     * @throws OrderNotFound, CommandRejected, SagaUnavailable
     */
    async cancel(orderId: string, retryKey?: string): Promise<CheckoutState> {
      await mustExist(orderId);
      return saga.cancel(orderId, retryKey);
    },

    /**
     * The customer's 3-D Secure answer, accepted only while the saga waits for it.
     *
     * @throws OrderNotFound, CommandRejected, SagaUnavailable
     */
    async confirmPayment(orderId: string, approved: boolean, retryKey?: string): Promise<CheckoutState> {
      await mustExist(orderId);
      return saga.confirmPayment(orderId, approved, retryKey);
    },

    /**
     * The saga's live state, or the stored order when the saga cannot answer.
     *
     * @throws OrderNotFound
     */
    async get(orderId: string): Promise<CheckoutState> {
      const state = UUID_PATTERN.test(orderId) ? await readCheckout(deps, orderId) : undefined;
      if (!state) throw new OrderNotFound(orderId);
      return state;
    },
  };
}

export type CheckoutService = ReturnType<typeof createCheckoutService>;
