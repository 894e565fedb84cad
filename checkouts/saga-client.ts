import { createHash } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { checkoutWorkflowId, OrderStatus, type CheckoutInput, type CheckoutState } from '../domain/order';
import type { Logger } from '../lib/logger';
import type { Ids } from '../lib/runtime';
import { cancelUpdate, checkoutSaga, confirmPaymentUpdate, getStateQuery } from '../workflows/checkout-saga';
import { CustomerIdKey, OrderStatusKey } from '../workflows/search-attributes';
import { CommandRejected, SagaUnavailable } from './errors';
import type { PlacedOrder } from './place-order';

export interface SagaClientDeps {
  temporal: Client;
  taskQueue: string;
  ids: Ids;
  /** Saga deadlines from the configuration, handed to each new saga in its input. */
  deadlines: { paymentConfirmationTimeoutMs: number; compensationAlertAfterMs: number };
  logger: Logger;
  /**
   * Ask the server to hand the new saga's first workflow task straight back (eager workflow
   * start): needs a worker of the task queue on this client's NativeConnection.
   */
  eagerStart?: boolean;
}

type SagaHandle = ReturnType<Client['workflow']['getHandle']>;

/** How long an update may wait for the saga's worker before it counts as unavailable. */
const UPDATE_DEADLINE_MS = 10_000;
/** What a client is told to wait before retrying a command the saga did not answer. */
const RETRY_AFTER_SECONDS = 5;
const QUERY_DEADLINE_MS = 3_000;
const DESCRIBE_DEADLINE_MS = 2_000;

const isOrderStatus = (value: string): value is OrderStatus => Object.hasOwn(OrderStatus, value);

/**
 * Everything the checkout asks of Temporal about one order's saga: start it, send it a command,
 * ask its state. Temporal's errors stop here: callers see checkout errors or `undefined`.
 *
 * @example
 * const saga = createSagaClient({ temporal, taskQueue: 'checkout', ids, deadlines, logger });
 * await saga.start(placed, 5_000);
 */
export function createSagaClient(deps: SagaClientDeps) {
  const { temporal } = deps;
  const handleOf = (orderId: string): SagaHandle => temporal.workflow.getHandle(checkoutWorkflowId(orderId));

  /**
   * The update id of a command. With the client's Idempotency-Key it is derived from it, so a
   * retry (e.g. after a 503, when the first attempt may still be delivered once a worker is back)
   * joins the same update and gets its outcome instead of being validated again; without a key,
   * every call is a new update, validated against the saga's current state.
   */
  function updateIdFor(command: string, orderId: string, retryKey: string | undefined): string {
    return retryKey === undefined
      ? `${command}-${orderId}-${deps.ids.uuid()}`
      : `${command}-${orderId}-${createHash('sha256').update(retryKey).digest('hex').slice(0, 32)}`;
  }

  /**
   * Sends an update to the order's saga and maps the outcomes: validator rejection or a saga that
   * has ended -> CommandRejected; a saga that cannot answer in time (no worker) -> SagaUnavailable.
   */
  async function update(orderId: string, send: (handle: SagaHandle) => Promise<CheckoutState>): Promise<CheckoutState> {
    const handle = handleOf(orderId);
    try {
      return await temporal.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () => send(handle));
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new CommandRejected(err.cause?.message ?? err.message);
      // The saga has ended (or never started): nothing can be changed any more.
      if (err instanceof WorkflowNotFoundError) throw new CommandRejected('the order’s saga is not running');
      deps.logger.warn({ err, orderId }, 'saga did not answer the update in time');
      throw new SagaUnavailable(RETRY_AFTER_SECONDS, { cause: err });
    }
  }

  return {
    /**
     * Starts the order's saga, within `timeoutMs`. Idempotent: one workflow id per order, and
     * neither a running nor a closed saga of that id lets a second run start; finding one answers
     * `already-started` (a retry after a crash or a lost answer), so re-issuing a start is always safe.
     *
     * @throws Temporal's error when it did not accept the start (unreachable, too slow, refused).
     */
    async start(order: PlacedOrder, timeoutMs: number): Promise<'started' | 'already-started'> {
      const input: CheckoutInput = { ...order, ...deps.deadlines };
      const itemCount = input.items.reduce((n, i) => n + i.quantity, 0);
      try {
        await temporal.withDeadline(Date.now() + timeoutMs, () =>
          temporal.workflow.start(checkoutSaga, {
            taskQueue: deps.taskQueue,
            workflowId: checkoutWorkflowId(input.orderId),
            args: [input],
            // FAIL (rather than USE_EXISTING) so a start that finds its saga running says so.
            workflowIdConflictPolicy: 'FAIL',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            // Only with a worker on the same NativeConnection (SAGA_STARTER_EAGER_START).
            ...(deps.eagerStart ? { requestEagerStart: true } : {}),
            typedSearchAttributes: new TypedSearchAttributes([
              { key: OrderStatusKey, value: 'PENDING' },
              { key: CustomerIdKey, value: input.customerId },
            ]),
            staticSummary: `Order ${input.orderId} · customer ${input.customerId} · ${itemCount} item(s) · ${(input.totalCents / 100).toFixed(2)} ${input.currency}`,
            staticDetails: input.items
              .map((i) => `- ${i.quantity} × ${i.sku} (${i.name}) @ ${i.unitPriceCents}¢`)
              .join('\n'),
          }),
        );
        return 'started';
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return 'already-started';
        throw err;
      }
    },

    /** Asks the saga to cancel (accepted until it ships; then compensated to CANCELLED). */
    cancel(orderId: string, retryKey?: string): Promise<CheckoutState> {
      return update(orderId, (handle) =>
        handle.executeUpdate(cancelUpdate, { updateId: updateIdFor('cancel', orderId, retryKey) }),
      );
    },

    /** Hands the saga the customer's 3-D Secure answer, accepted only while it waits for one. */
    confirmPayment(orderId: string, approved: boolean, retryKey?: string): Promise<CheckoutState> {
      return update(orderId, (handle) =>
        handle.executeUpdate(confirmPaymentUpdate, {
          args: [{ approved }],
          updateId: updateIdFor('payment-confirmation', orderId, retryKey),
        }),
      );
    },

    /** The saga's live state (query), or `undefined` when no saga or no worker answers in time. */
    async state(orderId: string): Promise<CheckoutState | undefined> {
      const handle = handleOf(orderId);
      try {
        return await temporal.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(getStateQuery));
      } catch (err) {
        // No saga (e.g. never started), no worker to answer, or Temporal unreachable: the caller falls back.
        if (!(err instanceof WorkflowNotFoundError))
          deps.logger.warn({ err, orderId }, 'saga query failed; answering from the database');
        return undefined;
      }
    },

    /**
     * The saga's `OrderStatus` search attribute, which the server keeps even while no worker runs
     * the saga, or `undefined` when Temporal cannot tell.
     */
    async searchStatus(orderId: string): Promise<OrderStatus | undefined> {
      const handle = handleOf(orderId);
      try {
        const description = await temporal.withDeadline(Date.now() + DESCRIBE_DEADLINE_MS, () => handle.describe());
        const status = description.typedSearchAttributes.get(OrderStatusKey);
        return status && isOrderStatus(status) ? status : undefined;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError))
          deps.logger.warn({ err, orderId }, 'saga describe failed; answering with the stored status');
        return undefined;
      }
    },
  };
}

export type SagaClient = ReturnType<typeof createSagaClient>;
