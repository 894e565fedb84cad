import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import { BUSINESS_FAILURES, ErrorType } from '../domain/errors';
import { FailureReason } from '../domain/order';

/** How the forward steps ended; `finish` turns it into the order's final status. */
export type Outcome =
  | { kind: 'completed' }
  /** `stepTookEffect` false: the order was cancelled before the saga started; the first step did nothing. */
  | { kind: 'cancelled'; stepTookEffect?: false }
  /**
   * `stepTookEffect` is false when the activity itself reported the business failure: the step
   * definitively did not happen, so its own compensation is dropped.
   */
  | { kind: 'failed'; reason: FailureReason; stepTookEffect: boolean }
  | { kind: 'unexpected'; error: unknown };

/** The business failure reason of an activity failure, if it is one. */
export function businessReason(err: unknown): FailureReason | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type) {
    return BUSINESS_FAILURES[err.cause.type as ErrorType];
  }
  return undefined;
}

/**
 * What a forward step's failure means for the order. Pure: no workflow context needed.
 *
 * - A cancel that was accepted, or a cancellation that is not a business failure, cancels the
 *   order: the interrupted step may have taken effect, so its compensation stays registered.
 * - An order cancelled before its saga started (the first step says so) is cancelled; that step
 *   had no effect.
 * - A business failure reported by the activity fails the order; the step had no effect.
 * - The 3-D Secure wait timing out fails the order; the pending authorisation is still undone.
 * - Anything else (a bug, a step finding itself already compensated) is unexpected.
 */
export function classifyFailure(err: unknown, cancelRequested: boolean): Outcome {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    if (err.cause.type === ErrorType.ORDER_CANCELLED_BEFORE_START) return { kind: 'cancelled', stepTookEffect: false };
  }
  const reason = businessReason(err);
  if (cancelRequested || (isCancellation(err) && !reason)) return { kind: 'cancelled' };
  if (reason) return { kind: 'failed', reason, stepTookEffect: false };
  if (err instanceof ApplicationFailure && err.type === ErrorType.PAYMENT_CONFIRMATION_TIMEOUT) {
    return { kind: 'failed', reason: FailureReason.PAYMENT_CONFIRMATION_TIMEOUT, stepTookEffect: true };
  }
  return { kind: 'unexpected', error: err };
}
