import { ApplicationFailure, condition } from '@temporalio/workflow';
import type { CheckoutActivities } from '../activities';
import { ErrorType } from '../domain/errors';
import { OrderStatus } from '../domain/order';
import { REMOTE_STEP, acts, withSummary } from './activity-options';
import type { SagaState } from './saga-state';

const DEFAULT_CONFIRMATION_TIMEOUT_MS = 15 * 60_000;

/**
 * The chargePayment step's hook. A card that needs 3-D Secure answers `requires_confirmation`:
 * the order then waits in AWAITING_PAYMENT_CONFIRMATION for the customer's answer (the
 * confirmPayment update), and confirms the approved payment or records the refused one. No answer
 * within PAYMENT_CONFIRMATION_TIMEOUT fails the step.
 */
export async function chargeAwaitingConfirmation(
  charge: () => ReturnType<CheckoutActivities['chargePayment']>,
  saga: SagaState,
) {
  const result = await charge();
  if (result.status !== 'requires_confirmation') return result;
  saga.setStatus(OrderStatus.AWAITING_PAYMENT_CONFIRMATION);
  const timeout = saga.input.paymentConfirmationTimeoutMs ?? DEFAULT_CONFIRMATION_TIMEOUT_MS;
  if (!(await condition(() => saga.confirmation !== undefined, timeout))) {
    // The pending authorisation is voided by refundPayment, which stays registered.
    throw ApplicationFailure.create({
      type: ErrorType.PAYMENT_CONFIRMATION_TIMEOUT,
      message: `no payment confirmation within ${timeout} ms`,
      nonRetryable: true,
    });
  }
  saga.setStatus(OrderStatus.CHARGING_PAYMENT);
  const approved = saga.confirmation?.approved === true;
  return acts.confirmPayment.executeWithOptions(
    withSummary(REMOTE_STEP, approved ? 'Confirm the approved payment' : 'Record the refused payment'),
    [{ ...saga.order, approved }],
  );
}
