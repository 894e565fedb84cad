import type { PaymentProvider } from '../activities/providers/payment-provider';
import type { Principal } from '../auth/principal';
import { checkoutWorkflowId, type CheckoutState } from '../domain/order';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import type { Clock, Ids } from '../lib/runtime';
import { OrderNotFound, UnknownPaymentMethod } from './errors';
import { requestHash } from './idempotency';
import { mustActFor, mustOwnOrder } from './ownership';
import { placeOrder, type Accepted, type CheckoutRequest } from './place-order';
import { priceItems } from './pricing';
import { receiveProviderEvent, type ProviderEvent, type ProviderEventOutcome } from './provider-events';
import { readCheckout } from './read';
import type { SagaClient } from './saga-client';
import { loadPlacedOrder } from './stored-order';

export interface CheckoutServiceDeps {
  db: Db;
  saga: SagaClient;
  clock: Clock;
  ids: Ids;
  /** How long an Idempotency-Key is remembered. */
  idempotencyTtlMs: number;
  /** Which payment-method tokens the payment provider can charge. */
  paymentMethods: Pick<PaymentProvider, 'acceptsMethod'>;
  logger: Logger;
}

/**
 * The checkout's use cases: place an order, command its saga, read it back, take the payment
 * provider's notifications. Each acts as a principal whose scopes the edge has checked; the
 * ownership rules are applied here (`./ownership`: another customer's order is OrderNotFound).
 * Failures are checkout errors (`./errors`), never HTTP answers.
 *
 * @example
 * const saga = createSagaClient({ temporal, taskQueue: 'checkout', ids, deadlines, logger });
 * const service = createCheckoutService({ db, saga, clock, ids, idempotencyTtlMs: 86_400_000, logger });
 * const { orderId } = await service.place(principal, key, body);
 */
export function createCheckoutService(deps: CheckoutServiceDeps) {
  const { db, saga } = deps;

  return {
    /**
     * Prices the order from the catalog, places it (order, `checkout.order.placed` event and
     * Idempotency-Key in one transaction), then starts the saga. Requests with one key are
     * serialised; a replay re-issues the (idempotent) start, which also recovers a request that
     * crashed between commit and start.
     *
     * @throws ForeignCustomer, UnknownSku, UnknownPaymentMethod, IdempotencyKeyReused
     */
    async place(principal: Principal, key: string, body: CheckoutRequest): Promise<Accepted> {
      mustActFor(principal, body.customerId);
      const claim = { principal: principal.id, key, requestHash: requestHash(body) };
      const items = await priceItems(db, body.items);
      if (!(await deps.paymentMethods.acceptsMethod(body.payment.method)))
        throw new UnknownPaymentMethod([
          { path: 'payment.method', message: 'the payment provider does not know this payment method' },
        ]);
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
     * @throws OrderNotFound (also for another customer's order), CommandRejected, SagaUnavailable
     */
    async cancel(principal: Principal, orderId: string, retryKey?: string): Promise<CheckoutState> {
      await mustOwnOrder(db, principal, orderId);
      return saga.cancel(orderId, retryKey);
    },

    /**
     * The customer's 3-D Secure answer, accepted only while the saga waits for it.
     *
     * @throws OrderNotFound (also for another customer's order), CommandRejected, SagaUnavailable
     */
    async confirmPayment(
      principal: Principal,
      orderId: string,
      approved: boolean,
      retryKey?: string,
    ): Promise<CheckoutState> {
      await mustOwnOrder(db, principal, orderId);
      return saga.confirmPayment(orderId, approved, retryKey);
    },

    /**
     * The saga's live state, or the stored order when the saga cannot answer.
     *
     * @throws OrderNotFound (also for another customer's order)
     */
    async get(principal: Principal, orderId: string): Promise<CheckoutState> {
      await mustOwnOrder(db, principal, orderId);
      const state = await readCheckout(deps, orderId);
      if (!state) throw new OrderNotFound(orderId);
      return state;
    },

    /**
     * May `principal` list `customerId`'s orders?
     *
     * @throws ForeignCustomer
     */
    mayList(principal: Principal, customerId: string): void {
      mustActFor(principal, customerId);
    },

    /**
     * A payment provider's notification (signature already verified), applied once per event id.
     *
     * @throws UnusableProviderEvent, ProviderEventTooEarly, SagaUnavailable
     */
    receiveProviderEvent(event: ProviderEvent): Promise<ProviderEventOutcome> {
      return receiveProviderEvent(deps, event);
    },
  };
}

export type CheckoutService = ReturnType<typeof createCheckoutService>;
