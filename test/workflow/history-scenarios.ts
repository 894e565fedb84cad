import assert from 'node:assert/strict';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ErrorType } from '../../domain/errors';
import type { CheckoutInput } from '../../domain/order';
import { cancelUpdate, confirmPaymentUpdate, getStateQuery, type checkoutSaga } from '../../workflows/checkout-saga';
import { businessFailure, sagaInput, type Script } from '../support/saga-harness';

export interface HistoryScenario {
  name: string;
  script: Script;
  input: () => CheckoutInput;
  /** Drives the execution to its end (signals, updates, time) and checks it got there. */
  drive: (handle: WorkflowHandle<typeof checkoutSaga>, env: TestWorkflowEnvironment) => Promise<void>;
}

async function awaitingConfirmation(handle: WorkflowHandle<typeof checkoutSaga>): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if ((await handle.query(getStateQuery)).status === 'AWAITING_PAYMENT_CONFIRMATION') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the saga never waited for payment confirmation');
}

const threeDs: Script = { chargePayment: async () => ({ status: 'requires_confirmation' }) };
const threeDsInput = () => sagaInput({ paymentMethod: 'pm_card_3ds' });

const endsAs = (status: string, failureReason?: string) => async (handle: WorkflowHandle<typeof checkoutSaga>) => {
  const state = await handle.result();
  assert.equal(state.status, status);
  assert.equal(state.failureReason, failureReason);
};

/** The execution fails (an unexpected failure) after the order ended `status` with `failureReason`. */
const failsAfterEnding =
  (status: string, failureReason: string) => async (handle: WorkflowHandle<typeof checkoutSaga>) => {
    const failure = await handle.result().then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(failure instanceof WorkflowFailedError, `the execution fails (${String(failure)})`);
    const state = await handle.query(getStateQuery);
    assert.equal(state.status, status);
    assert.equal(state.failureReason, failureReason);
  };

/** Every path of the saga whose history is kept as a replay fixture. */
export const HISTORY_SCENARIOS: HistoryScenario[] = [
  { name: 'completed', script: {}, input: () => sagaInput(), drive: endsAs('COMPLETED') },
  {
    name: 'out-of-stock',
    script: { reserveStock: businessFailure(ErrorType.OUT_OF_STOCK) },
    input: () => sagaInput(),
    drive: endsAs('FAILED', 'OUT_OF_STOCK'),
  },
  {
    name: 'payment-declined',
    script: { chargePayment: businessFailure(ErrorType.PAYMENT_DECLINED) },
    input: () => sagaInput(),
    drive: endsAs('FAILED', 'PAYMENT_DECLINED'),
  },
  {
    name: 'shipping-unavailable',
    script: { shipOrder: businessFailure(ErrorType.SHIPPING_UNAVAILABLE) },
    input: () => sagaInput({ shippingAddress: { name: 'A', line1: 'B', city: 'C', postalCode: '1', country: 'AQ' } }),
    drive: endsAs('FAILED', 'SHIPPING_UNAVAILABLE'),
  },
  {
    name: '3ds-approved',
    script: threeDs,
    input: threeDsInput,
    drive: async (handle) => {
      await awaitingConfirmation(handle);
      await handle.executeUpdate(confirmPaymentUpdate, { args: [{ approved: true }] });
      await endsAs('COMPLETED')(handle);
    },
  },
  {
    name: '3ds-refused',
    script: { ...threeDs, confirmPayment: businessFailure(ErrorType.PAYMENT_DECLINED) },
    input: threeDsInput,
    drive: async (handle) => {
      await awaitingConfirmation(handle);
      await handle.executeUpdate(confirmPaymentUpdate, { args: [{ approved: false }] });
      await endsAs('FAILED', 'PAYMENT_DECLINED')(handle);
    },
  },
  {
    name: '3ds-timeout',
    script: threeDs,
    input: threeDsInput,
    drive: endsAs('FAILED', 'PAYMENT_CONFIRMATION_TIMEOUT'),
  },
  {
    name: 'cancel-awaiting-confirmation',
    script: threeDs,
    input: threeDsInput,
    drive: async (handle) => {
      await awaitingConfirmation(handle);
      await handle.executeUpdate(cancelUpdate);
      await endsAs('CANCELLED')(handle);
    },
  },
  {
    name: 'compensation-alert',
    script: {
      shipOrder: businessFailure(ErrorType.SHIPPING_UNAVAILABLE),
      refundPayment: (() => {
        let attempts = 0;
        return async () => {
          attempts += 1;
          if (attempts <= 8) throw new Error('provider unavailable');
          return { refunded: true, amountCents: 1000 };
        };
      })(),
    },
    input: () => sagaInput({ compensationAlertAfterMs: 60_000 }),
    drive: endsAs('FAILED', 'SHIPPING_UNAVAILABLE'),
  },
  {
    // v3 (INTERNAL_ERROR_PATCH): compensated, then finalized FAILED/INTERNAL_ERROR, execution failed.
    name: 'unexpected-failure',
    script: { shipOrder: businessFailure(ErrorType.STEP_ALREADY_COMPENSATED) },
    input: () => sagaInput(),
    drive: failsAfterEnding('FAILED', 'INTERNAL_ERROR'),
  },
  {
    // v3: the order was cancelled in the database before the saga started; the first step says so.
    name: 'cancelled-before-start',
    script: { reserveStock: businessFailure(ErrorType.ORDER_CANCELLED_BEFORE_START) },
    input: () => sagaInput(),
    drive: endsAs('CANCELLED'),
  },
];
