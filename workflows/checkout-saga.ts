import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineUpdate,
  isCancellation,
  log,
  metricMeter,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { CheckoutActivities } from '../activities';
import { BUSINESS_FAILURES, ErrorType } from '../domain/errors';
import {
  FailureReason,
  OrderStatus,
  StepName,
  TERMINAL_STATUSES,
  type CheckoutInput,
  type CheckoutState,
  type StepKind,
  type StepStatus,
} from '../domain/order';
import { CompensationStuckKey, OrderStatusKey } from './search-attributes';

/** Returns the same state as `GET /checkouts/{orderId}`. */
export const getStateQuery = defineQuery<CheckoutState>('getState');

/**
 * The customer's answer to a 3-D Secure challenge. Rejected (validator) unless the saga is
 * waiting for it, so the API can answer 409.
 */
export const confirmPaymentUpdate = defineUpdate<CheckoutState, [{ approved: boolean }]>('confirmPayment');

/**
 * Cancels the order. Accepted while it has not shipped (it is then compensated to CANCELLED);
 * rejected by the validator once it has shipped, is already being undone, or has ended.
 */
export const cancelUpdate = defineUpdate<CheckoutState, []>('cancel');

/** Patch id of the compensation alert timer; executions that started before it replay without it. */
export const COMPENSATION_ALERT_PATCH = 'compensation-alert';

/**
 * Patch: an accepted cancel wins even when the forward steps finished anyway (the last step's
 * result reached the workflow in the same task as the cancel, so cancelling the scope no longer
 * interrupted it). Found by the chaos runner: a 202 to a cancel followed by a COMPLETED order.
 */
export const CANCEL_WINS_PATCH = 'accepted-cancel-wins';

const DEFAULT_CONFIRMATION_TIMEOUT_MS = 15 * 60_000;
const DEFAULT_ALERT_AFTER_MS = 60 * 60_000;

const NON_RETRYABLE = [
  ErrorType.OUT_OF_STOCK,
  ErrorType.PAYMENT_DECLINED,
  ErrorType.SHIPPING_UNAVAILABLE,
  ErrorType.STEP_ALREADY_COMPENSATED,
  ErrorType.ORDER_NOT_FOUND,
];

/**
 * Stock and order bookkeeping: one or two short transactions on our own database, so 15 s is
 * generous. Infrastructure errors retry with capped backoff and no overall deadline: an outage
 * delays a checkout but never turns into a business outcome.
 */
const DB_STEP: ActivityOptions = {
  startToCloseTimeout: '15s',
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
};

/**
 * Steps that call a third party (payment provider, carrier): their latency is not ours, so they
 * get 60 s to finish, and heartbeat every 2 s while waiting, so a worker that dies mid-call is
 * noticed after 10 s and the call (idempotent by key) is retried elsewhere.
 */
const REMOTE_STEP: ActivityOptions = { ...DB_STEP, startToCloseTimeout: '60s', heartbeatTimeout: '10s' };

/**
 * Compensations must eventually succeed: unlimited retries, backoff capped at one minute so a
 * recovered dependency is noticed quickly. A compensation that keeps failing raises an alert
 * after COMPENSATION_ALERT_AFTER but keeps retrying.
 */
const COMPENSATION: ActivityOptions = {
  startToCloseTimeout: '60s',
  heartbeatTimeout: '10s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    nonRetryableErrorTypes: [ErrorType.ORDER_NOT_FOUND],
  },
};

const acts = proxyActivities<CheckoutActivities>(DB_STEP);

/**
 * Saga metrics, created per execution: the workflow meter exists only inside workflow context.
 * The SDK drops them while replaying and they add no command to the history, so adding one needs
 * no `patched()`. Durations use workflow time (the time of the workflow task that saw the event).
 * Labels are bounded enums: status, reason (FailureReason, `none`, `unexpected`), step, result.
 */
function sagaMetrics() {
  return {
    started: metricMeter.createCounter('checkout_sagas_started', 'sagas', 'Sagas started'),
    finished: metricMeter.createCounter('checkout_sagas_finished', 'sagas', 'Sagas finished, by status and reason'),
    duration: metricMeter.createHistogram(
      'checkout_saga_duration_seconds',
      'float',
      '',
      'Saga run time from its start to its final status, by status and reason',
    ),
    stepDuration: metricMeter.createHistogram(
      'checkout_step_duration_seconds',
      'float',
      '',
      'Step run time (forward or compensation, retries included), by step and result',
    ),
    compensations: metricMeter.createCounter(
      'checkout_compensations',
      'compensations',
      'Compensation steps started, by step',
    ),
    compensationsFinished: metricMeter.createCounter(
      'checkout_compensations_finished',
      'compensations',
      'Compensation steps finished, by step and result (succeeded, failed)',
    ),
    stuck: metricMeter.createCounter(
      'checkout_compensations_stuck',
      'compensations',
      'Compensations still failing after COMPENSATION_ALERT_AFTER, by step',
    ),
  };
}

interface Compensation {
  name: StepName;
  summary: string;
  run: (options: ActivityOptions) => Promise<unknown>;
}

type Outcome =
  | { kind: 'completed' }
  | { kind: 'failed'; reason: FailureReason }
  | { kind: 'cancelled' }
  | { kind: 'unexpected'; error: unknown };

/** The business failure reason of an activity failure, if it is one. */
function businessReason(err: unknown): FailureReason | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type) {
    return BUSINESS_FAILURES[err.cause.type as ErrorType];
  }
  return undefined;
}

/**
 * The checkout saga: reserveStock -> chargePayment (-> wait for 3-D Secure confirmation) ->
 * shipOrder. A compensation is registered before the step it undoes, because the step may
 * half-happen (commit, then the worker dies). A step that fails with a business failure
 * reported by the activity itself did not take effect, so its own compensation is dropped; all
 * earlier ones run in reverse order, in a non-cancellable scope, until they succeed. A cancel
 * (update, or cancelling the workflow) interrupts the forward steps; whatever may have happened
 * is compensated and the order ends CANCELLED.
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
    steps: [StepName.reserveStock, StepName.chargePayment, StepName.shipOrder].map((name) => ({
      name,
      kind: 'FORWARD' as StepKind,
      state: 'PENDING' as const,
    })),
    createdAt: input.createdAt,
    updatedAt: input.createdAt,
  };
  const forward = new CancellationScope();
  const metrics = sagaMetrics();
  metrics.started.add(1);
  const finish = (status: OrderStatus, reason: string) => {
    metrics.finished.add(1, { status, reason });
    metrics.duration.record(Math.max(0, Date.now() - workflowInfo().startTime.getTime()) / 1000, { status, reason });
  };
  let confirmation: { approved: boolean } | undefined;
  let cancelRequested = false;

  const touch = () => {
    state.updatedAt = new Date().toISOString();
  };
  const setStatus = (status: OrderStatus) => {
    state.status = status;
    touch();
    upsertSearchAttributes([{ key: OrderStatusKey, value: status }]);
    const finished = (TERMINAL_STATUSES as readonly string[]).includes(status);
    log.info(finished ? 'saga finished' : 'saga status changed', {
      orderId: input.orderId,
      status,
      ...(state.failureReason ? { failureReason: state.failureReason } : {}),
    });
  };
  const stepOf = (name: StepName, kind: StepKind): StepStatus => {
    let step = state.steps.find((s) => s.name === name);
    if (!step) {
      step = { name, kind, state: 'PENDING' };
      state.steps.push(step);
    }
    return step;
  };

  setHandler(getStateQuery, () => state);
  setHandler(
    confirmPaymentUpdate,
    ({ approved }) => {
      confirmation = { approved };
      return state;
    },
    {
      validator: (answer) => {
        if (typeof answer?.approved !== 'boolean') throw new Error('approved must be true or false');
        if (state.status !== OrderStatus.AWAITING_PAYMENT_CONFIRMATION || confirmation || cancelRequested) {
          throw new Error(`order is ${state.status}, not awaiting payment confirmation`);
        }
      },
    },
  );
  setHandler(
    cancelUpdate,
    () => {
      cancelRequested = true;
      forward.cancel();
      return state;
    },
    {
      validator: () => {
        if (cancelRequested) throw new Error('order is already being cancelled');
        if (
          (TERMINAL_STATUSES as readonly string[]).includes(state.status) ||
          state.status === OrderStatus.COMPENSATING
        ) {
          throw new Error(`order is ${state.status}; it can no longer be cancelled`);
        }
        if (stepOf(StepName.shipOrder, 'FORWARD').state === 'COMPLETED')
          throw new Error('order has shipped; it can no longer be cancelled');
      },
    },
  );

  async function runStep<T>(name: StepName, kind: StepKind, run: () => Promise<T>): Promise<T> {
    const step = stepOf(name, kind);
    step.state = 'RUNNING';
    step.startedAt = new Date().toISOString();
    const startedMs = Date.now();
    touch();
    try {
      const result = await run();
      step.state = 'COMPLETED';
      log.info('saga step completed', { orderId: input.orderId, step: name, kind });
      return result;
    } catch (err) {
      step.state = 'FAILED';
      step.detail = isCancellation(err)
        ? 'cancelled'
        : (businessReason(err) ?? (err instanceof Error ? err.message : String(err)));
      log.warn('saga step failed', { orderId: input.orderId, step: name, kind, detail: step.detail });
      throw err;
    } finally {
      step.finishedAt = new Date().toISOString();
      const result = step.state === 'COMPLETED' ? 'completed' : step.detail === 'cancelled' ? 'cancelled' : 'failed';
      metrics.stepDuration.record((Date.now() - startedMs) / 1000, { step: name, result });
      touch();
    }
  }
  const opts = (base: ActivityOptions, summary: string): ActivityOptions => ({ ...base, summary });
  const order = { orderId: input.orderId };
  const compensations: Compensation[] = [];

  /** The forward steps; throws on a business failure, a cancellation, or anything unexpected. */
  async function forwardSteps(): Promise<void> {
    setStatus(OrderStatus.RESERVING_STOCK);
    compensations.push({
      name: StepName.releaseStock,
      summary: 'Release reserved stock',
      run: (o) => acts.releaseStock.executeWithOptions(o, [order]),
    });
    await runStep(StepName.reserveStock, 'FORWARD', () =>
      acts.reserveStock.executeWithOptions(opts(DB_STEP, `Reserve ${input.items.length} line(s) of stock`), [order]),
    );

    setStatus(OrderStatus.CHARGING_PAYMENT);
    compensations.push({
      name: StepName.refundPayment,
      summary: 'Refund or void the payment',
      run: (o) => acts.refundPayment.executeWithOptions(o, [order]),
    });
    await runStep(StepName.chargePayment, 'FORWARD', async () => {
      const charge = await acts.chargePayment.executeWithOptions(
        opts(REMOTE_STEP, `Charge ${input.totalCents} ${input.currency} cents`),
        [order],
      );
      if (charge.status !== 'requires_confirmation') return charge;
      setStatus(OrderStatus.AWAITING_PAYMENT_CONFIRMATION);
      const timeout = input.paymentConfirmationTimeoutMs ?? DEFAULT_CONFIRMATION_TIMEOUT_MS;
      if (!(await condition(() => confirmation !== undefined, timeout))) {
        // The pending authorisation is voided by refundPayment, which stays registered.
        throw ApplicationFailure.create({
          type: ErrorType.PAYMENT_CONFIRMATION_TIMEOUT,
          message: `no payment confirmation within ${timeout} ms`,
          nonRetryable: true,
        });
      }
      setStatus(OrderStatus.CHARGING_PAYMENT);
      return acts.confirmPayment.executeWithOptions(
        opts(REMOTE_STEP, confirmation?.approved ? 'Confirm the approved payment' : 'Record the refused payment'),
        [{ ...order, approved: confirmation?.approved === true }],
      );
    });

    setStatus(OrderStatus.SHIPPING);
    compensations.push({
      name: StepName.cancelShipment,
      summary: 'Cancel the shipment',
      run: (o) => acts.cancelShipment.executeWithOptions(o, [order]),
    });
    await runStep(StepName.shipOrder, 'FORWARD', () =>
      acts.shipOrder.executeWithOptions(opts(REMOTE_STEP, `Ship to ${input.shippingAddress.country}`), [order]),
    );
  }

  /** Runs one compensation, counted as started and finished (`checkout_compensations*`). */
  async function compensateOne(c: Compensation): Promise<void> {
    metrics.compensations.add(1, { step: c.name });
    try {
      await compensateUntilDone(c);
    } catch (err) {
      metrics.compensationsFinished.add(1, { step: c.name, result: 'failed' });
      throw err;
    }
    metrics.compensationsFinished.add(1, { step: c.name, result: 'succeeded' });
  }

  /** Runs one compensation until it succeeds; past the alert period it raises an alert and keeps going. */
  async function compensateUntilDone(c: Compensation): Promise<void> {
    const running = c.run(opts(COMPENSATION, c.summary));
    if (!patched(COMPENSATION_ALERT_PATCH)) {
      await running;
      return;
    }
    const alertAfter = input.compensationAlertAfterMs ?? DEFAULT_ALERT_AFTER_MS;
    const timerScope = new CancellationScope();
    const alarm = timerScope
      .run(() => sleep(alertAfter))
      .then(
        () => true,
        (err: unknown) => {
          if (isCancellation(err)) return false;
          throw err;
        },
      );
    const first = await Promise.race([
      running.then(() => 'done' as const),
      alarm.then((fired) => (fired ? ('alarm' as const) : ('done' as const))),
    ]);
    if (first === 'alarm') {
      log.error('compensation still failing; operator attention needed', {
        orderId: input.orderId,
        step: c.name,
        failingForMs: alertAfter,
      });
      metrics.stuck.add(1, { step: c.name });
      upsertSearchAttributes([{ key: CompensationStuckKey, value: true }]);
      await running;
      upsertSearchAttributes([{ key: CompensationStuckKey, value: false }]);
      log.info('stuck compensation finally succeeded', { orderId: input.orderId, step: c.name });
    } else {
      timerScope.cancel();
      await alarm;
    }
  }

  let outcome: Outcome;
  try {
    await forward.run(forwardSteps);
    // The client was told its cancel was accepted: honour it, compensating every step.
    outcome = cancelRequested && patched(CANCEL_WINS_PATCH) ? { kind: 'cancelled' } : { kind: 'completed' };
  } catch (err) {
    const reason = businessReason(err);
    if (cancelRequested || (isCancellation(err) && !reason)) {
      // The interrupted step may have taken effect: its compensation stays registered.
      outcome = { kind: 'cancelled' };
    } else if (reason) {
      // The activity reported a definitive business outcome: the step itself had no effect.
      compensations.pop();
      outcome = { kind: 'failed', reason };
    } else if (err instanceof ApplicationFailure && err.type === ErrorType.PAYMENT_CONFIRMATION_TIMEOUT) {
      outcome = { kind: 'failed', reason: FailureReason.PAYMENT_CONFIRMATION_TIMEOUT };
    } else {
      outcome = { kind: 'unexpected', error: err };
    }
  }

  return CancellationScope.nonCancellable(async () => {
    if (outcome.kind === 'completed') {
      await acts.finalizeOrder.executeWithOptions(opts(DB_STEP, 'Mark the order completed'), [
        { ...order, outcome: { status: 'COMPLETED' }, steps: state.steps },
      ]);
      setStatus(OrderStatus.COMPLETED);
      finish(OrderStatus.COMPLETED, 'none');
      return state;
    }

    setStatus(OrderStatus.COMPENSATING);
    log.info('saga compensating', {
      orderId: input.orderId,
      outcome: outcome.kind,
      compensations: compensations.map((c) => c.name),
    });
    for (const c of [...compensations].reverse()) await runStep(c.name, 'COMPENSATION', () => compensateOne(c));
    for (const step of state.steps) if (step.state === 'PENDING') step.state = 'SKIPPED';

    if (outcome.kind === 'cancelled') {
      await acts.finalizeOrder.executeWithOptions({ ...COMPENSATION, summary: 'Mark the order cancelled' }, [
        { ...order, outcome: { status: 'CANCELLED' }, steps: state.steps },
      ]);
      setStatus(OrderStatus.CANCELLED);
      finish(OrderStatus.CANCELLED, 'none');
      return state;
    }
    if (outcome.kind === 'failed') {
      state.failureReason = outcome.reason;
      await acts.finalizeOrder.executeWithOptions(
        { ...COMPENSATION, summary: `Mark the order failed (${outcome.reason})` },
        [{ ...order, outcome: { status: 'FAILED', failureReason: outcome.reason }, steps: state.steps }],
      );
      setStatus(OrderStatus.FAILED);
      finish(OrderStatus.FAILED, outcome.reason);
      return state;
    }
    // Not a business failure (a bug, or a step finding itself already compensated): every step
    // that may have taken effect is undone; the execution fails so an operator sees it.
    log.error('checkout saga failed unexpectedly; compensated', {
      orderId: input.orderId,
      error: String(outcome.error),
    });
    setStatus(OrderStatus.FAILED);
    finish(OrderStatus.FAILED, 'unexpected');
    throw outcome.error;
  });
}
