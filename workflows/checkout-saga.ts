import { patched } from '@temporalio/workflow';
import type { CheckoutInput, CheckoutState } from '../domain/order';
import { classifyFailure, type Outcome } from './classify-failure';
import { Compensations } from './compensations';
import { finish } from './finish';
import { registerHandlers } from './messages';
import { CANCEL_WINS_PATCH } from './patches';
import { SagaState } from './saga-state';
import { SAGA_STEPS, forwardRun } from './steps';

export { cancelUpdate, confirmPaymentUpdate, getStateQuery } from './messages';
export { CANCEL_WINS_PATCH, COMPENSATION_ALERT_PATCH, LOCAL_FINALIZE_PATCH } from './patches';

/**
 * The checkout saga: the steps of `SAGA_STEPS` in order (reserveStock -> chargePayment (-> wait
 * for 3-D Secure confirmation) -> shipOrder). A compensation is registered before the step it
 * undoes, because the step may half-happen (commit, then the worker dies). A step that fails with
 * a business failure reported by the activity itself did not take effect, so its own compensation
 * is dropped; all earlier ones run in reverse order, in a non-cancellable scope, until they
 * succeed. A cancel (update, or cancelling the workflow) interrupts the forward steps; whatever
 * may have happened is compensated and the order ends CANCELLED.
 *
 * @example
 * await client.workflow.start(checkoutSaga, { workflowId: checkoutWorkflowId(id), taskQueue, args: [input] });
 */
export async function checkoutSaga(input: CheckoutInput): Promise<CheckoutState> {
  const saga = new SagaState(input);
  registerHandlers(saga);
  const undo = new Compensations(saga);

  let outcome: Outcome;
  try {
    await saga.runForward(async () => {
      for (const step of SAGA_STEPS) {
        saga.setStatus(step.status);
        undo.register(step.compensation); // before the step: it may half-happen
        await saga.runStep(step.name, 'FORWARD', forwardRun(step, saga));
      }
    });
    // The client was told its cancel was accepted: honour it, compensating every step.
    outcome = saga.cancelRequested && patched(CANCEL_WINS_PATCH) ? { kind: 'cancelled' } : { kind: 'completed' };
  } catch (err) {
    outcome = classifyFailure(err, saga.cancelRequested);
  }

  return finish(saga, undo, outcome);
}
