import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ErrorType } from '../../domain/errors';
import type { CheckoutInput } from '../../domain/order';
import type { checkoutSaga } from '../../workflows/checkout-saga';
import { businessFailure, sagaInput, type Script } from '../support/saga-harness';

export interface HistoryScenario {
  name: string;
  script: Script;
  input: () => CheckoutInput;
  /** Drives the execution to its end (signals, updates, time) and checks it got there. */
  drive: (handle: WorkflowHandle<typeof checkoutSaga>, env: TestWorkflowEnvironment) => Promise<void>;
}

const endsAs = (status: string, failureReason?: string) => async (handle: WorkflowHandle<typeof checkoutSaga>) => {
  const state = await handle.result();
  assert.equal(state.status, status);
  assert.equal(state.failureReason, failureReason);
};

/** Every path of the saga whose history is kept as a replay fixture. */
export const HISTORY_SCENARIOS: HistoryScenario[] = [
  { name: 'completed', script: {}, input: () => sagaInput(), drive: endsAs('COMPLETED') },
  { name: 'out-of-stock', script: { reserveStock: businessFailure(ErrorType.OUT_OF_STOCK) }, input: () => sagaInput(), drive: endsAs('FAILED', 'OUT_OF_STOCK') },
  { name: 'payment-declined', script: { chargePayment: businessFailure(ErrorType.PAYMENT_DECLINED) }, input: () => sagaInput(), drive: endsAs('FAILED', 'PAYMENT_DECLINED') },
  {
    name: 'shipping-unavailable',
    script: { shipOrder: businessFailure(ErrorType.SHIPPING_UNAVAILABLE) },
    input: () => sagaInput({ shippingAddress: { name: 'A', line1: 'B', city: 'C', postalCode: '1', country: 'AQ' } }),
    drive: endsAs('FAILED', 'SHIPPING_UNAVAILABLE'),
  },
];
