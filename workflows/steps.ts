import type { ActivityOptions } from '@temporalio/workflow';
import type { CheckoutActivities } from '../activities';
import { OrderStatus, type CheckoutInput } from '../domain/order';
import { DB_STEP, REMOTE_STEP, callOrderActivity, withSummary, type OrderActivity } from './activity-options';
import { chargeAwaitingConfirmation } from './payment-confirmation';
import type { SagaState } from './saga-state';

/** What an order activity returns. */
export type ResultOf<Name extends OrderActivity> = Awaited<ReturnType<CheckoutActivities[Name]>>;

/** One step of the saga: its activity, how the order shows it while it runs, and how it is undone. */
export interface SagaStep<Name extends OrderActivity = OrderActivity, Undo extends OrderActivity = OrderActivity> {
  /** The forward activity; also the step's name in `getState` and in the Web UI. */
  name: Name;
  /** The order's status while the step runs. */
  status: OrderStatus;
  options: ActivityOptions;
  /** The line the Web UI shows for the call. */
  summary: (input: CheckoutInput) => string;
  /**
   * Hook: runs the step in place of the bare activity call, which it makes with `call`, e.g. to
   * wait for the customer afterwards. Its result is the step's result.
   */
  run?(call: () => Promise<ResultOf<Name>>, saga: SagaState): Promise<unknown>;
  /**
   * Undoes the step. Registered before the step runs, because the step may half-happen (commit,
   * then the worker dies); dropped only when the activity itself reports a business failure.
   */
  compensation: { name: Undo; summary: string };
  /** Once this step has completed, a cancel is rejected with this reason. */
  pointOfNoReturn?: string;
}

/** One entry of the table: checks that its hook fits its activity, and keeps its names literal. */
function step<Name extends OrderActivity, Undo extends OrderActivity>(entry: SagaStep<Name, Undo>) {
  return entry;
}

/**
 * The saga's steps, in order: the initial `getState` steps, the forward loop and the registered
 * compensations all come from this table. A new step is one entry here plus its activity
 * (docs/extending.md).
 */
export const SAGA_STEPS = [
  step({
    name: 'reserveStock',
    status: OrderStatus.RESERVING_STOCK,
    options: DB_STEP,
    summary: (input) => `Reserve ${input.items.length} line(s) of stock`,
    compensation: { name: 'releaseStock', summary: 'Release reserved stock' },
  }),
  step({
    name: 'chargePayment',
    status: OrderStatus.CHARGING_PAYMENT,
    options: REMOTE_STEP,
    summary: (input) => `Charge ${input.totalCents} ${input.currency} cents`,
    run: chargeAwaitingConfirmation,
    compensation: { name: 'refundPayment', summary: 'Refund or void the payment' },
  }),
  step({
    name: 'shipOrder',
    status: OrderStatus.SHIPPING,
    options: REMOTE_STEP,
    summary: (input) => `Ship to ${input.shippingAddress.country}`,
    compensation: { name: 'cancelShipment', summary: 'Cancel the shipment' },
    pointOfNoReturn: 'order has shipped',
  }),
] as const;

type Entry = (typeof SAGA_STEPS)[number];
/** A registered compensation: its activity and the summary the Web UI shows. */
export type Compensation = Entry['compensation'];
/** Every step's name: the forward steps and their compensations. */
export type SagaStepName = Entry['name'] | Compensation['name'];

/** What runs a forward step: its activity with its options and summary, through the step's hook if it has one. */
export function forwardRun(entry: SagaStep, saga: SagaState): () => Promise<unknown> {
  const call = () => callOrderActivity(entry.name, withSummary(entry.options, entry.summary(saga.input)), saga.order);
  const hook = entry.run;
  return hook ? () => hook(call, saga) : call;
}
