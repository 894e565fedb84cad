import { CancellationScope, isCancellation, log, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  OrderStatus,
  TERMINAL_STATUSES,
  type CheckoutInput,
  type CheckoutState,
  type StepKind,
  type StepName,
  type StepStatus,
} from '../domain/order';
import { businessReason } from './classify-failure';
import { sagaMetrics, type SagaMetrics } from './saga-metrics';
import { SAGA_STEPS } from './steps';
import { OrderStatusKey } from './search-attributes';

/**
 * One execution's state and its bookkeeping: the status (kept in the `OrderStatus` search
 * attribute), the steps as `getState` shows them, what the update handlers asked for, and the
 * scope the forward steps run in, so a cancel can interrupt them.
 */
export class SagaState {
  readonly input: CheckoutInput;
  readonly state: CheckoutState;
  /** What every activity of this order is called with. */
  readonly order: { orderId: string };
  readonly metrics: SagaMetrics;
  /** The customer's 3-D Secure answer, once given. */
  confirmation: { approved: boolean } | undefined;
  /** A cancel was accepted: the order ends CANCELLED whatever the forward steps do. */
  cancelRequested: boolean;
  private readonly forwardScope: CancellationScope;

  constructor(input: CheckoutInput) {
    this.input = input;
    this.state = {
      orderId: input.orderId,
      status: OrderStatus.PENDING,
      customerId: input.customerId,
      items: input.items,
      totalCents: input.totalCents,
      currency: input.currency,
      steps: SAGA_STEPS.map((step) => ({ name: step.name, kind: 'FORWARD' as StepKind, state: 'PENDING' as const })),
      createdAt: input.createdAt,
      updatedAt: input.createdAt,
    };
    this.order = { orderId: input.orderId };
    this.confirmation = undefined;
    this.cancelRequested = false;
    this.forwardScope = new CancellationScope();
    this.metrics = sagaMetrics();
    this.metrics.started.add(1);
  }

  /** Sets the order's status and its search attribute, and logs the change. */
  setStatus(status: OrderStatus): void {
    this.state.status = status;
    this.touch();
    upsertSearchAttributes([{ key: OrderStatusKey, value: status }]);
    const finished = (TERMINAL_STATUSES as readonly string[]).includes(status);
    log.info(finished ? 'saga finished' : 'saga status changed', {
      orderId: this.input.orderId,
      status,
      ...(this.state.failureReason ? { failureReason: this.state.failureReason } : {}),
    });
  }

  /** Sets the final status and counts the saga as finished, with its run time. */
  end(status: OrderStatus, reason: string): void {
    this.setStatus(status);
    this.metrics.finished.add(1, { status, reason });
    this.metrics.duration.record(Math.max(0, Date.now() - workflowInfo().startTime.getTime()) / 1000, {
      status,
      reason,
    });
  }

  /** The step's entry in `state.steps`, added (PENDING) the first time a compensation is seen. */
  step(name: StepName, kind: StepKind): StepStatus {
    let step = this.state.steps.find((s) => s.name === name);
    if (!step) {
      step = { name, kind, state: 'PENDING' };
      this.state.steps.push(step);
    }
    return step;
  }

  /** Steps that never ran once the saga compensates. */
  skipPending(): void {
    for (const step of this.state.steps) if (step.state === 'PENDING') step.state = 'SKIPPED';
  }

  /** Runs one step (forward or compensation), recording its state, times, failure detail and duration. */
  async runStep<T>(name: StepName, kind: StepKind, run: () => Promise<T>): Promise<T> {
    const step = this.step(name, kind);
    step.state = 'RUNNING';
    step.startedAt = new Date().toISOString();
    const startedMs = Date.now();
    this.touch();
    try {
      const result = await run();
      step.state = 'COMPLETED';
      log.info('saga step completed', { orderId: this.input.orderId, step: name, kind });
      return result;
    } catch (err) {
      step.state = 'FAILED';
      step.detail = isCancellation(err)
        ? 'cancelled'
        : (businessReason(err) ?? (err instanceof Error ? err.message : String(err)));
      log.warn('saga step failed', { orderId: this.input.orderId, step: name, kind, detail: step.detail });
      throw err;
    } finally {
      step.finishedAt = new Date().toISOString();
      const result = step.state === 'COMPLETED' ? 'completed' : step.detail === 'cancelled' ? 'cancelled' : 'failed';
      this.metrics.stepDuration.record((Date.now() - startedMs) / 1000, { step: name, result });
      this.touch();
    }
  }

  /** Runs the forward steps in the scope a cancel interrupts. */
  runForward(steps: () => Promise<void>): Promise<void> {
    return this.forwardScope.run(steps);
  }

  /** Accepts a cancel: interrupts the forward steps; whatever may have happened is compensated. */
  requestCancel(): void {
    this.cancelRequested = true;
    this.forwardScope.cancel();
  }

  private touch(): void {
    this.state.updatedAt = new Date().toISOString();
  }
}
