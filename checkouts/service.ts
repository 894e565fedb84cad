import type { PaymentProvider } from '../activities/providers/payment-provider';
import type { Principal } from '../auth/principal';
import { checkoutWorkflowId, type CheckoutState } from '../domain/order';
import { noCrashPoints, type CrashPoints } from '../lib/crash-points';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import type { Clock, Ids } from '../lib/runtime';
import { cancelBeforeStart } from './cancel-before-start';
import { CommandRejected, OrderNotFound, SagaUnavailable, UnknownPaymentMethod } from './errors';
import { requestHash } from './idempotency';
import { mustActFor, mustConfirmPaymentOf, mustOwnOrder } from './ownership';
import { placeOrder, type Accepted, type CheckoutRequest } from './place-order';
import { priceItems } from './pricing';
import { receiveProviderEvent, type ProviderEvent, type ProviderEventOutcome } from './provider-events';
import { readCheckout } from './read';
import type { SagaClient } from './saga-client';
import { loadStoredCheckout, sagaStage } from './stored-order';

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
  /** Test-only crash points (`api.after-commit`); none in production. */
  crashPoints?: CrashPoints;
}

/** What a client is told to wait before retrying a cancel that found a saga being started. */
const RETRY_AFTER_SECONDS = 2;
/** PostgreSQL's lock_not_available: a cancel gave up waiting for a starter holding the order's row. */
const LOCK_NOT_AVAILABLE = '55P03';

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
  const crashPoints = deps.crashPoints ?? noCrashPoints;

  /**
   * The order's saga stage, once the order exists and `principal` may act on it (by `mayAct`,
   * the ownership rule unless told otherwise): checked before anything about the order (or its
   * saga) is revealed.
   *
   * @throws OrderNotFound (unknown id, malformed id, another customer's order)
   */
  async function stageOf(
    principal: Principal,
    orderId: string,
    mayAct: typeof mustOwnOrder = mustOwnOrder,
  ): Promise<'queued' | 'started'> {
    await mayAct(db, principal, orderId);
    const stage = await sagaStage(db, orderId);
    if (stage === 'unknown') throw new OrderNotFound(orderId);
    return stage;
  }

  return {
    /**
     * Prices the order from the catalog and places it: order, `checkout.order.placed` event,
     * queued saga start and Idempotency-Key in one transaction. Temporal is not called: the saga
     * starter starts the saga from the committed order, so a checkout is accepted while Temporal
     * is down, and a request that dies after its commit still gets its saga. Requests with one
     * key are serialised; a replay answers what the first one did.
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
      crashPoints.reach('api.after-commit');
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
     * Cancels the order: before its saga started, at once in the database (nothing to undo);
     * after, through the saga (accepted until it ships; then compensated to CANCELLED).
     *
     * @throws OrderNotFound (also for another customer's order), CommandRejected, SagaUnavailable
     */
    async cancel(principal: Principal, orderId: string, retryKey?: string): Promise<CheckoutState> {
      if ((await stageOf(principal, orderId)) === 'queued') {
        try {
          const cancelled = await cancelBeforeStart(deps, orderId, retryKey);
          if (cancelled) return cancelled;
        } catch (err) {
          if ((err as { code?: unknown }).code !== LOCK_NOT_AVAILABLE) throw err;
          throw new SagaUnavailable(RETRY_AFTER_SECONDS, { cause: err });
        }
      } else if (retryKey !== undefined) {
        // A retry of a cancel that applied before the saga started (there is no saga to ask).
        const cancelled = await cancelBeforeStart(deps, orderId, retryKey);
        if (cancelled) return cancelled;
      }
      return saga.cancel(orderId, retryKey);
    },

    /**
     * The 3-D Secure answer, accepted only while the saga waits for it. A holder of
     * `payments:confirm` (never a customer) answers for any order.
     *
     * @throws OrderNotFound (also for another customer's order without `payments:confirm`),
     *   CommandRejected, SagaUnavailable
     */
    async confirmPayment(
      principal: Principal,
      orderId: string,
      approved: boolean,
      retryKey?: string,
    ): Promise<CheckoutState> {
      if ((await stageOf(principal, orderId, mustConfirmPaymentOf)) === 'queued')
        throw new CommandRejected('order is PENDING: its saga has not started, so no payment awaits confirmation');
      return saga.confirmPayment(orderId, approved, retryKey);
    },

    /**
     * The saga's live state, or the stored order when the saga cannot answer; the stored order
     * (PENDING) while its saga has not started.
     *
     * @throws OrderNotFound (also for another customer's order)
     */
    async get(principal: Principal, orderId: string): Promise<CheckoutState> {
      const state =
        (await stageOf(principal, orderId)) === 'queued'
          ? await loadStoredCheckout(db, orderId)
          : await readCheckout(deps, orderId);
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
