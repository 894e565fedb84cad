import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { CheckoutActivities } from '../activities';
import { BUSINESS_FAILURES, ErrorType } from '../domain/errors';
import {
  OrderStatus,
  StepName,
  type CheckoutInput,
  type CheckoutState,
  type FailureReason,
  type StepKind,
  type StepStatus,
} from '../domain/order';
import { OrderStatusKey } from './search-attributes';

/** Returns the same state as `GET /checkouts/{orderId}`. */
export const getStateQuery = defineQuery<CheckoutState>('getState');

/**
 * Forward steps: one or two short database transactions and at most one provider call, so 30 s
 * is generous. Infrastructure errors (database, provider outage) retry with capped backoff and
 * no overall deadline: they never turn into a business outcome. Business failures are thrown
 * non-retryable by the activities and also listed here as a second line of defence.
 */
const FORWARD_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    nonRetryableErrorTypes: [ErrorType.OUT_OF_STOCK, ErrorType.PAYMENT_DECLINED, ErrorType.SHIPPING_UNAVAILABLE, ErrorType.STEP_ALREADY_COMPENSATED, ErrorType.ORDER_NOT_FOUND],
  },
};

/**
 * Compensations must eventually succeed: unlimited retries, backoff capped at one minute so a
 * recovered dependency is noticed quickly.
 */
const COMPENSATION_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', nonRetryableErrorTypes: [ErrorType.ORDER_NOT_FOUND] },
};

const acts = proxyActivities<CheckoutActivities>(FORWARD_OPTIONS);

interface Compensation {
  name: StepName;
  run: () => Promise<unknown>;
}

/** Extracts the business failure reason from an activity failure, if it is one. */
function businessReason(err: unknown): FailureReason | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type) {
    return BUSINESS_FAILURES[err.cause.type as ErrorType];
  }
  return undefined;
}

/**
 * The checkout saga: reserveStock -> chargePayment -> shipOrder. A compensation is registered
 * before the step it undoes, because the step may half-happen (commit, then the worker dies).
 * A step that fails with a business failure reported by the activity itself did not take
 * effect, so its own compensation is dropped; all earlier ones run in reverse order, in a
 * non-cancellable scope, until they succeed.
 *
 * @example
 * await client.workflow.start(checkoutSaga, { workflowId: checkoutWorkflowId(id), taskQueue, args: [input] });
 */
export async function checkoutSaga(input: CheckoutInput): Promise<CheckoutState> {
  const state: CheckoutState = {
    orderId: input.orderId,
    status: OrderStatus.PENDING,
    customerId: input.customerId,
    items: input.items,
    totalCents: input.totalCents,
    currency: input.currency,
    steps: [StepName.reserveStock, StepName.chargePayment, StepName.shipOrder].map((name) => ({ name, kind: 'FORWARD' as StepKind, state: 'PENDING' as const })),
    createdAt: input.createdAt,
    updatedAt: input.createdAt,
  };
  setHandler(getStateQuery, () => state);

  const touch = () => {
    state.updatedAt = new Date().toISOString();
  };
  const setStatus = (status: OrderStatus) => {
    state.status = status;
    touch();
    upsertSearchAttributes([{ key: OrderStatusKey, value: status }]);
  };
  const stepOf = (name: StepName, kind: StepKind): StepStatus => {
    let step = state.steps.find((s) => s.name === name);
    if (!step) {
      step = { name, kind, state: 'PENDING' };
      state.steps.push(step);
    }
    return step;
  };
  async function runStep<T>(name: StepName, kind: StepKind, run: () => Promise<T>): Promise<T> {
    const step = stepOf(name, kind);
    step.state = 'RUNNING';
    step.startedAt = new Date().toISOString();
    touch();
    try {
      const result = await run();
      step.state = 'COMPLETED';
      return result;
    } catch (err) {
      step.state = 'FAILED';
      step.detail = businessReason(err) ?? (err instanceof Error ? err.message : String(err));
      throw err;
    } finally {
      step.finishedAt = new Date().toISOString();
      touch();
    }
  }
  const summary = (text: string): ActivityOptions => ({ ...FORWARD_OPTIONS, summary: text });
  const order = { orderId: input.orderId };
  const compensations: Compensation[] = [];
  const compensate = (name: StepName, text: string, fn: { executeWithOptions(o: ActivityOptions, args: [typeof order]): Promise<unknown> }) =>
    compensations.push({ name, run: () => fn.executeWithOptions({ ...COMPENSATION_OPTIONS, summary: text }, [order]) });

  let failure: FailureReason | undefined;
  let unexpected: unknown;
  try {
    setStatus(OrderStatus.RESERVING_STOCK);
    compensate(StepName.releaseStock, 'Release reserved stock', acts.releaseStock);
    await runStep(StepName.reserveStock, 'FORWARD', () =>
      acts.reserveStock.executeWithOptions(summary(`Reserve ${input.items.length} line(s) of stock`), [order]),
    );

    setStatus(OrderStatus.CHARGING_PAYMENT);
    compensate(StepName.refundPayment, 'Refund the payment', acts.refundPayment);
    await runStep(StepName.chargePayment, 'FORWARD', () =>
      acts.chargePayment.executeWithOptions(summary(`Charge ${input.totalCents} ${input.currency} cents`), [order]),
    );

    setStatus(OrderStatus.SHIPPING);
    compensate(StepName.cancelShipment, 'Cancel the shipment', acts.cancelShipment);
    await runStep(StepName.shipOrder, 'FORWARD', () =>
      acts.shipOrder.executeWithOptions(summary(`Ship to ${input.shippingAddress.country}`), [order]),
    );
  } catch (err) {
    failure = businessReason(err);
    if (failure) {
      // The activity reported a definitive business outcome: the step itself had no effect.
      compensations.pop();
    } else {
      unexpected = err;
    }
  }

  if (failure === undefined && unexpected === undefined) {
    await acts.finalizeOrder.executeWithOptions(summary('Mark the order completed'), [{ ...order, outcome: { status: 'COMPLETED' }, steps: state.steps }]);
    setStatus(OrderStatus.COMPLETED);
    return state;
  }

  setStatus(OrderStatus.COMPENSATING);
  await CancellationScope.nonCancellable(async () => {
    for (const c of [...compensations].reverse()) {
      await runStep(c.name, 'COMPENSATION', c.run);
    }
  });
  for (const step of state.steps) if (step.state === 'PENDING') step.state = 'SKIPPED';

  if (failure) {
    state.failureReason = failure;
    await acts.finalizeOrder.executeWithOptions({ ...COMPENSATION_OPTIONS, summary: `Mark the order failed (${failure})` }, [
      { ...order, outcome: { status: 'FAILED', failureReason: failure }, steps: state.steps },
    ]);
    setStatus(OrderStatus.FAILED);
    return state;
  }
  // Not a business failure (a bug, or a step finding itself already compensated): every step
  // that may have taken effect is undone; the execution fails so an operator sees it.
  log.error('checkout saga failed unexpectedly; compensated', { orderId: input.orderId, error: String(unexpected) });
  setStatus(OrderStatus.FAILED);
  throw unexpected;
}
