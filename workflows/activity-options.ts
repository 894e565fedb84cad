import {
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { CheckoutActivities } from '../activities';
import { ErrorType } from '../domain/errors';

const NON_RETRYABLE = [
  ErrorType.OUT_OF_STOCK,
  ErrorType.PAYMENT_DECLINED,
  ErrorType.SHIPPING_UNAVAILABLE,
  ErrorType.STEP_ALREADY_COMPENSATED,
  ErrorType.ORDER_NOT_FOUND,
  ErrorType.ORDER_CANCELLED_BEFORE_START,
];

/**
 * Stock and order bookkeeping: one or two short transactions on our own database, so 15 s is
 * generous. Infrastructure errors retry with capped backoff and no overall deadline: an outage
 * delays a checkout but never turns into a business outcome.
 */
export const DB_STEP: ActivityOptions = {
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
export const REMOTE_STEP: ActivityOptions = { ...DB_STEP, startToCloseTimeout: '60s', heartbeatTimeout: '10s' };

/**
 * Compensations must eventually succeed: unlimited retries, backoff capped at one minute so a
 * recovered dependency is noticed quickly. A compensation that keeps failing raises an alert
 * after COMPENSATION_ALERT_AFTER but keeps retrying.
 */
export const COMPENSATION: ActivityOptions = {
  startToCloseTimeout: '60s',
  heartbeatTimeout: '10s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    nonRetryableErrorTypes: [ErrorType.ORDER_NOT_FOUND],
  },
};

/** `base` with the one-line summary the Web UI shows for this call. */
export function withSummary(base: ActivityOptions, summary: string): ActivityOptions {
  return { ...base, summary };
}

/** The saga's activities. Every call passes its own options (`executeWithOptions`); DB_STEP is only the default. */
export const acts = proxyActivities<CheckoutActivities>(DB_STEP);

/**
 * The order's final record as a local activity: the same timeouts and retries as the activity it
 * replaces, without a heartbeat (a local activity cannot heartbeat; a worker that dies mid-call
 * fails the workflow task, and the next worker runs the call again: it is idempotent).
 */
export function asLocal(options: ActivityOptions): LocalActivityOptions {
  const { startToCloseTimeout, retry, summary } = options;
  return { startToCloseTimeout, retry, summary };
}

/** The saga's local activities: only the final record of the order (LOCAL_FINALIZE_PATCH). */
export const localActs = proxyLocalActivities<Pick<CheckoutActivities, 'finalizeOrder'>>({
  startToCloseTimeout: '15s',
});

/** Activities that take just the order id: the saga's forward steps and their compensations. */
export type OrderActivity = {
  [K in keyof CheckoutActivities]: [{ orderId: string }] extends Parameters<CheckoutActivities[K]> ? K : never;
}[keyof CheckoutActivities];

/** Calls an order activity by name with its options. */
export function callOrderActivity(name: OrderActivity, options: ActivityOptions, order: { orderId: string }) {
  return acts[name].executeWithOptions(options, [order]);
}
