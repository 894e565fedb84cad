import { CancellationScope, isCancellation, log, patched, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { StepName } from '../domain/order';
import { COMPENSATION, callOrderActivity, withSummary } from './activity-options';
import { COMPENSATION_ALERT_PATCH } from './patches';
import type { SagaState } from './saga-state';
import { CompensationStuckKey } from './search-attributes';
import type { Compensation } from './steps';

const DEFAULT_ALERT_AFTER_MS = 60 * 60_000;

/**
 * The compensation stack: one entry per step that may have taken effect, run last first until
 * each succeeds. A compensation still failing after COMPENSATION_ALERT_AFTER raises an alert
 * (log, `checkout_compensations_stuck`, the `CompensationStuck` search attribute) and keeps going.
 */
export class Compensations {
  private readonly saga: SagaState;
  private readonly stack: Compensation[];

  constructor(saga: SagaState) {
    this.saga = saga;
    this.stack = [];
  }

  /** Registers the compensation of the step about to run. */
  register(compensation: Compensation): void {
    this.stack.push(compensation);
  }

  /** Forgets the last registered compensation: its step reported that it did not take effect. */
  dropLast(): void {
    this.stack.pop();
  }

  /** The registered compensations, in the order they were registered. */
  names(): StepName[] {
    return this.stack.map((c) => c.name);
  }

  /** Runs every registered compensation, last first, each as a COMPENSATION step of the order. */
  async runAll(): Promise<void> {
    for (const c of [...this.stack].reverse()) {
      await this.saga.runStep(c.name, 'COMPENSATION', () => this.runOne(c));
    }
  }

  /** Runs one compensation, counted as started and finished (`checkout_compensations*`). */
  private async runOne(c: Compensation): Promise<void> {
    const { metrics } = this.saga;
    metrics.compensations.add(1, { step: c.name });
    try {
      await this.untilDone(c);
    } catch (err) {
      metrics.compensationsFinished.add(1, { step: c.name, result: 'failed' });
      throw err;
    }
    metrics.compensationsFinished.add(1, { step: c.name, result: 'succeeded' });
  }

  /** Runs one compensation until it succeeds; past the alert period it raises an alert and keeps going. */
  private async untilDone(c: Compensation): Promise<void> {
    const { input, order, metrics } = this.saga;
    const running = callOrderActivity(c.name, withSummary(COMPENSATION, c.summary), order);
    if (!patched(COMPENSATION_ALERT_PATCH)) {
      await running;
      return;
    }
    const alertAfter = input.compensationAlertAfterMs ?? DEFAULT_ALERT_AFTER_MS;
    const timerScope = new CancellationScope();
    const alarm = timerScope
      .run(() => sleep(alertAfter))
      .then(
        () => true,
        (err: unknown) => {
          if (isCancellation(err)) return false;
          throw err;
        },
      );
    const first = await Promise.race([
      running.then(() => 'done' as const),
      alarm.then((fired) => (fired ? ('alarm' as const) : ('done' as const))),
    ]);
    if (first === 'alarm') {
      log.error('compensation still failing; operator attention needed', {
        orderId: input.orderId,
        step: c.name,
        failingForMs: alertAfter,
      });
      metrics.stuck.add(1, { step: c.name });
      upsertSearchAttributes([{ key: CompensationStuckKey, value: true }]);
      await running;
      upsertSearchAttributes([{ key: CompensationStuckKey, value: false }]);
      log.info('stuck compensation finally succeeded', { orderId: input.orderId, step: c.name });
    } else {
      timerScope.cancel();
      await alarm;
    }
  }
}
