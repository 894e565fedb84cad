/**
 * Patch ids of the saga (see docs/workflow-changes.md). Each guards a change to the commands an
 * execution issues, so executions that started before it replay their old commands. Never rename
 * one: running and recorded executions carry its marker.
 */

/** The compensation alert timer; executions that started before it replay without it. */
export const COMPENSATION_ALERT_PATCH = 'compensation-alert';

/**
 * An accepted cancel wins even when the forward steps finished anyway (the last step's result
 * reached the workflow in the same task as the cancel, so cancelling the scope no longer
 * interrupted it). Found by the chaos runner: a 202 to a cancel followed by a COMPLETED order.
 */
export const CANCEL_WINS_PATCH = 'accepted-cancel-wins';

/**
 * An unexpected failure (not a business one) used to compensate and fail the execution, leaving the
 * order row non-terminal with no terminal event. Now it also finalizes the order FAILED with
 * INTERNAL_ERROR and its `checkout.order.failed` event (an extra finalizeOrder activity).
 */
export const INTERNAL_ERROR_PATCH = 'internal-error-finalized';

/**
 * finalizeOrder runs as a local activity: one short transaction on our own database, run by the
 * worker inside the workflow task that decided the ending. A saga then costs the engine what the
 * bare workflow of three activities does: one activity dispatch and one workflow task fewer
 * (bench/shape/run.ts measured the fourth activity at 0.87 of bare, a local one at no cost).
 */
export const LOCAL_FINALIZE_PATCH = 'finalize-as-local-activity';
