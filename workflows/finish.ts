import { CancellationScope, log, patched, type ActivityOptions } from '@temporalio/workflow';
import type { FinalOutcome } from '../activities/orders';
import { FailureReason, OrderStatus, type CheckoutState } from '../domain/order';
import { COMPENSATION, DB_STEP, acts, asLocal, localActs, withSummary } from './activity-options';
import type { Outcome } from './classify-failure';
import type { Compensations } from './compensations';
import { INTERNAL_ERROR_PATCH, LOCAL_FINALIZE_PATCH } from './patches';
import type { SagaState } from './saga-state';

/** How one kind of outcome ends the order. */
interface Ending {
  status: OrderStatus;
  /** The `reason` label of `checkout_sagas_finished` and `checkout_saga_duration_seconds`. */
  reason: string;
  /** Run every registered compensation first. */
  compensate: boolean;
  /** Set on the order's state before it is finalized. */
  failureReason?: FailureReason;
  /** The finalizeOrder call that records the outcome with its event. */
  finalize?: { options: ActivityOptions; outcome: FinalOutcome };
  /** The ending's failure reason and finalize apply only to executions that recorded this patch. */
  patch?: string;
}

type OutcomeOf<Kind extends Outcome['kind']> = Extract<Outcome, { kind: Kind }>;

/** The one table of endings: what each outcome compensates, records and reports. */
const ENDINGS: { [Kind in Outcome['kind']]: (outcome: OutcomeOf<Kind>) => Ending } = {
  completed: () => ({
    status: OrderStatus.COMPLETED,
    reason: 'none',
    compensate: false,
    finalize: { options: withSummary(DB_STEP, 'Mark the order completed'), outcome: { status: 'COMPLETED' } },
  }),
  cancelled: () => ({
    status: OrderStatus.CANCELLED,
    reason: 'none',
    compensate: true,
    finalize: { options: withSummary(COMPENSATION, 'Mark the order cancelled'), outcome: { status: 'CANCELLED' } },
  }),
  failed: ({ reason }) => ({
    status: OrderStatus.FAILED,
    reason,
    compensate: true,
    failureReason: reason,
    finalize: {
      options: withSummary(COMPENSATION, `Mark the order failed (${reason})`),
      outcome: { status: 'FAILED', failureReason: reason },
    },
  }),
  // Not a business failure (a bug, or a step finding itself already compensated): every step
  // that may have taken effect is undone, the order ends FAILED (INTERNAL_ERROR) with its event,
  // and the execution fails so an operator sees it.
  unexpected: () => ({
    status: OrderStatus.FAILED,
    reason: 'unexpected',
    compensate: true,
    failureReason: FailureReason.INTERNAL_ERROR,
    finalize: {
      options: withSummary(COMPENSATION, 'Mark the order failed (INTERNAL_ERROR)'),
      outcome: { status: 'FAILED', failureReason: FailureReason.INTERNAL_ERROR },
    },
    patch: INTERNAL_ERROR_PATCH,
  }),
};

function endingOf<Kind extends Outcome['kind']>(outcome: OutcomeOf<Kind>): Ending {
  const ending: (outcome: OutcomeOf<Kind>) => Ending = ENDINGS[outcome.kind];
  return ending(outcome);
}

/**
 * Ends the saga as its outcome says, in a non-cancellable scope: compensations and the final
 * record must happen even when the workflow itself is being cancelled.
 */
export function finish(saga: SagaState, undo: Compensations, outcome: Outcome): Promise<CheckoutState> {
  const ending = endingOf(outcome);
  return CancellationScope.nonCancellable(async () => {
    if (ending.compensate) {
      // The activity reported a definitive outcome (a business failure, or an order cancelled before
      // the saga started): the failed step itself had no effect.
      if ((outcome.kind === 'failed' || outcome.kind === 'cancelled') && outcome.stepTookEffect === false)
        undo.dropLast();
      saga.setStatus(OrderStatus.COMPENSATING);
      log.info('saga compensating', {
        orderId: saga.input.orderId,
        outcome: outcome.kind,
        compensations: undo.names(),
      });
      await undo.runAll();
      saga.skipPending();
    }
    // Decided once, after the compensations: the patch marker sits where its command begins.
    const applies = ending.patch === undefined || patched(ending.patch);
    if (ending.failureReason && applies) saga.state.failureReason = ending.failureReason;
    if (ending.finalize && applies) {
      const args = [{ ...saga.order, outcome: ending.finalize.outcome, steps: saga.state.steps }] as const;
      await (patched(LOCAL_FINALIZE_PATCH)
        ? localActs.finalizeOrder.executeWithOptions(asLocal(ending.finalize.options), [...args])
        : acts.finalizeOrder.executeWithOptions(ending.finalize.options, [...args]));
    }
    if (outcome.kind === 'unexpected') {
      log.error('checkout saga failed unexpectedly; compensated', {
        orderId: saga.input.orderId,
        error: String(outcome.error),
      });
    }
    saga.end(ending.status, ending.reason);
    if (outcome.kind === 'unexpected') throw outcome.error;
    return saga.state;
  });
}
