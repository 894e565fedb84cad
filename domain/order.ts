/**
 * The order as every layer sees it: statuses, failure reasons and the saga's state.
 * Pure types and constants only, so workflow code can import it deterministically.
 */
import type { SagaStepName } from '../workflows/steps';

/** Every status a checkout can be in; the last three are terminal. */
export const OrderStatus = {
  PENDING: 'PENDING',
  RESERVING_STOCK: 'RESERVING_STOCK',
  CHARGING_PAYMENT: 'CHARGING_PAYMENT',
  AWAITING_PAYMENT_CONFIRMATION: 'AWAITING_PAYMENT_CONFIRMATION',
  SHIPPING: 'SHIPPING',
  COMPENSATING: 'COMPENSATING',
  COMPLETED: 'COMPLETED',
  CANCELLED: 'CANCELLED',
  FAILED: 'FAILED',
} as const;
export type OrderStatus = (typeof OrderStatus)[keyof typeof OrderStatus];

export const TERMINAL_STATUSES: readonly OrderStatus[] = [
  OrderStatus.COMPLETED,
  OrderStatus.CANCELLED,
  OrderStatus.FAILED,
];

/**
 * Why a checkout ended in FAILED: a business reason, or INTERNAL_ERROR when the saga failed for an
 * unexpected reason (a bug, a step finding itself already undone) and compensated every step.
 * Infrastructure errors are retried, never a reason.
 */
export const FailureReason = {
  OUT_OF_STOCK: 'OUT_OF_STOCK',
  PAYMENT_DECLINED: 'PAYMENT_DECLINED',
  PAYMENT_CONFIRMATION_TIMEOUT: 'PAYMENT_CONFIRMATION_TIMEOUT',
  SHIPPING_UNAVAILABLE: 'SHIPPING_UNAVAILABLE',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;
export type FailureReason = (typeof FailureReason)[keyof typeof FailureReason];

/**
 * A forward step or its compensation, named as the Temporal Web UI shows its activity
 * (`reserveStock`, `chargePayment`, `shipOrder`, `releaseStock`, `refundPayment`,
 * `cancelShipment`). The names come from the saga's step table, `SAGA_STEPS` in workflows/steps.ts.
 */
export type StepName = SagaStepName;

export type StepKind = 'FORWARD' | 'COMPENSATION';
export type StepState = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'SKIPPED';

export interface StepStatus {
  name: StepName;
  kind: StepKind;
  state: StepState;
  startedAt?: string;
  finishedAt?: string;
  /** Short, non-sensitive reason for a FAILED or SKIPPED step. */
  detail?: string;
}

export interface OrderItem {
  sku: string;
  name: string;
  quantity: number;
  unitPriceCents: number;
}

export interface ShippingAddress {
  name: string;
  line1: string;
  line2?: string | undefined;
  city: string;
  postalCode: string;
  country: string;
}

/** What the API hands the saga: an order already priced from the catalog and persisted. */
export interface CheckoutInput {
  orderId: string;
  customerId: string;
  items: OrderItem[];
  totalCents: number;
  currency: string;
  paymentMethod: string;
  shippingAddress: ShippingAddress;
  createdAt: string;
  /** W3C trace context of the request that placed the order, carried into every event. */
  traceparent: string;
  /** How long a 3-D Secure payment waits for the customer (PAYMENT_CONFIRMATION_TIMEOUT). Default 15 min. */
  paymentConfirmationTimeoutMs?: number;
  /** How long a compensation may keep failing before it raises an alert (COMPENSATION_ALERT_AFTER). Default 1 h. */
  compensationAlertAfterMs?: number;
}

/** The state `GET /checkouts/{orderId}` and the `getState` query return. */
export interface CheckoutState {
  orderId: string;
  status: OrderStatus;
  failureReason?: FailureReason;
  customerId: string;
  items: OrderItem[];
  totalCents: number;
  currency: string;
  steps: StepStatus[];
  createdAt: string;
  updatedAt: string;
}

/** Workflow id of an order's saga: one execution per order. */
export function checkoutWorkflowId(orderId: string): string {
  return `checkout-${orderId}`;
}

/** Sum of the order lines, in cents. */
export function orderTotalCents(items: readonly Pick<OrderItem, 'quantity' | 'unitPriceCents'>[]): number {
  return items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0);
}

/** Canonical UUID text, as order ids are written. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
