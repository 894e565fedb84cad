import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ActivityFailure, ApplicationFailure, CancelledFailure, RetryState } from '@temporalio/common';
import { ErrorType } from '../../domain/errors';
import { classifyFailure } from '../../workflows/classify-failure';

/** What the workflow sees when an activity fails: the activity's ApplicationFailure wrapped in an ActivityFailure. */
function activityFailed(type: ErrorType, activityType = 'reserveStock'): ActivityFailure {
  const cause = ApplicationFailure.create({ type, message: `simulated ${type}`, nonRetryable: true });
  return new ActivityFailure('activity failed', activityType, '1', RetryState.NON_RETRYABLE_FAILURE, 'worker', cause);
}

/** What the workflow sees when a running activity is cancelled. */
function activityCancelled(): ActivityFailure {
  return new ActivityFailure(
    'activity cancelled',
    'shipOrder',
    '3',
    RetryState.CANCEL_REQUESTED,
    'worker',
    new CancelledFailure('cancelled'),
  );
}

describe('classifyFailure: what a forward step failure means for the order', () => {
  const businessFailures = [
    [ErrorType.OUT_OF_STOCK, 'OUT_OF_STOCK'],
    [ErrorType.PAYMENT_DECLINED, 'PAYMENT_DECLINED'],
    [ErrorType.SHIPPING_UNAVAILABLE, 'SHIPPING_UNAVAILABLE'],
  ] as const;
  for (const [type, reason] of businessFailures) {
    it(`an activity reporting ${type} fails the order ${reason}, the step having had no effect`, () => {
      assert.deepEqual(classifyFailure(activityFailed(type), false), { kind: 'failed', reason, stepTookEffect: false });
    });
  }

  it('an accepted cancel wins over a business failure that arrived with it', () => {
    assert.deepEqual(classifyFailure(activityFailed(ErrorType.OUT_OF_STOCK), true), { kind: 'cancelled' });
  });

  it('an accepted cancel wins over an unexpected failure too', () => {
    assert.deepEqual(classifyFailure(new Error('bug'), true), { kind: 'cancelled' });
  });

  it('a cancelled activity cancels the order even without a cancel update (the workflow was cancelled)', () => {
    assert.deepEqual(classifyFailure(activityCancelled(), false), { kind: 'cancelled' });
  });

  it('a cancelled wait (CancelledFailure itself) cancels the order', () => {
    assert.deepEqual(classifyFailure(new CancelledFailure('cancelled'), false), { kind: 'cancelled' });
  });

  it('the 3-D Secure wait timing out fails the order PAYMENT_CONFIRMATION_TIMEOUT, the authorisation still to undo', () => {
    const timeout = ApplicationFailure.create({
      type: ErrorType.PAYMENT_CONFIRMATION_TIMEOUT,
      message: 'no payment confirmation within 900000 ms',
      nonRetryable: true,
    });
    assert.deepEqual(classifyFailure(timeout, false), {
      kind: 'failed',
      reason: 'PAYMENT_CONFIRMATION_TIMEOUT',
      stepTookEffect: true,
    });
  });

  it('a step that finds itself already compensated is unexpected, carrying the original error', () => {
    const err = activityFailed(ErrorType.STEP_ALREADY_COMPENSATED, 'shipOrder');
    const outcome = classifyFailure(err, false);
    assert.equal(outcome.kind, 'unexpected');
    assert.equal(outcome.kind === 'unexpected' && outcome.error, err);
  });

  it('a business failure type not reported by an activity is unexpected, not a business outcome', () => {
    const err = ApplicationFailure.create({ type: ErrorType.OUT_OF_STOCK, message: 'thrown by workflow code' });
    assert.deepEqual(classifyFailure(err, false), { kind: 'unexpected', error: err });
  });

  it('a plain error (a bug) is unexpected', () => {
    const err = new TypeError('cannot read properties of undefined');
    assert.deepEqual(classifyFailure(err, false), { kind: 'unexpected', error: err });
  });
});
