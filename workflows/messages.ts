import { defineQuery, defineUpdate, setHandler } from '@temporalio/workflow';
import { OrderStatus, TERMINAL_STATUSES, type CheckoutState } from '../domain/order';
import type { SagaState } from './saga-state';
import { SAGA_STEPS } from './steps';

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

/** Registers the query and the updates over one execution's state. */
export function registerHandlers(saga: SagaState): void {
  setHandler(getStateQuery, () => saga.state);
  setHandler(
    confirmPaymentUpdate,
    ({ approved }) => {
      saga.confirmation = { approved };
      return saga.state;
    },
    {
      validator: (answer) => {
        if (typeof answer?.approved !== 'boolean') throw new Error('approved must be true or false');
        const { status } = saga.state;
        if (status !== OrderStatus.AWAITING_PAYMENT_CONFIRMATION || saga.confirmation || saga.cancelRequested) {
          throw new Error(`order is ${status}, not awaiting payment confirmation`);
        }
      },
    },
  );
  setHandler(
    cancelUpdate,
    () => {
      saga.requestCancel();
      return saga.state;
    },
    {
      validator: () => {
        if (saga.cancelRequested) throw new Error('order is already being cancelled');
        const { status } = saga.state;
        if ((TERMINAL_STATUSES as readonly string[]).includes(status) || status === OrderStatus.COMPENSATING) {
          throw new Error(`order is ${status}; it can no longer be cancelled`);
        }
        const done = SAGA_STEPS.find((s) => s.pointOfNoReturn && saga.step(s.name, 'FORWARD').state === 'COMPLETED');
        if (done) throw new Error(`${done.pointOfNoReturn}; it can no longer be cancelled`);
      },
    },
  );
}
