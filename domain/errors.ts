import { FailureReason } from './order';

/**
 * The one list of `ApplicationFailure` types that cross the activity/workflow boundary.
 * Business types are non-retryable; the workflow maps them to a `failureReason`.
 */
export const ErrorType = {
  OUT_OF_STOCK: 'OUT_OF_STOCK',
  PAYMENT_DECLINED: 'PAYMENT_DECLINED',
  SHIPPING_UNAVAILABLE: 'SHIPPING_UNAVAILABLE',
  /**
   * Raised by the workflow itself when the customer did not confirm a 3-D Secure payment in time.
   * Not in BUSINESS_FAILURES: a pending authorisation exists, so the payment step is still undone.
   */
  PAYMENT_CONFIRMATION_TIMEOUT: 'PAYMENT_CONFIRMATION_TIMEOUT',
  /** A forward step ran after its compensation had already settled the order: it must not take effect. */
  STEP_ALREADY_COMPENSATED: 'STEP_ALREADY_COMPENSATED',
  ORDER_NOT_FOUND: 'ORDER_NOT_FOUND',
  /**
   * The saga's first step found its order already cancelled: the customer cancelled before the saga
   * started, and this saga was started anyway (a start accepted by Temporal but not recorded). The
   * step took no effect; the saga ends CANCELLED with nothing to undo.
   */
  ORDER_CANCELLED_BEFORE_START: 'ORDER_CANCELLED_BEFORE_START',
  /** A provider or carrier was briefly unavailable; Temporal retries it. */
  TRANSIENT_PROVIDER_ERROR: 'TRANSIENT_PROVIDER_ERROR',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Error types that mean "this step definitively did not take effect, for a business reason". */
export const BUSINESS_FAILURES: Readonly<Partial<Record<ErrorType, FailureReason>>> = {
  [ErrorType.OUT_OF_STOCK]: FailureReason.OUT_OF_STOCK,
  [ErrorType.PAYMENT_DECLINED]: FailureReason.PAYMENT_DECLINED,
  [ErrorType.SHIPPING_UNAVAILABLE]: FailureReason.SHIPPING_UNAVAILABLE,
};

/** Base class of domain errors raised by activities; converted to ApplicationFailure at the boundary. */
export abstract class DomainError extends Error {
  abstract readonly type: ErrorType;
  readonly retryable: boolean = false;
  constructor(
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class OutOfStockError extends DomainError {
  readonly type = ErrorType.OUT_OF_STOCK;
}
export class PaymentDeclinedError extends DomainError {
  readonly type = ErrorType.PAYMENT_DECLINED;
}
export class ShippingUnavailableError extends DomainError {
  readonly type = ErrorType.SHIPPING_UNAVAILABLE;
}
export class StepAlreadyCompensatedError extends DomainError {
  readonly type = ErrorType.STEP_ALREADY_COMPENSATED;
}
export class OrderNotFoundError extends DomainError {
  readonly type = ErrorType.ORDER_NOT_FOUND;
}
export class OrderCancelledBeforeStartError extends DomainError {
  readonly type = ErrorType.ORDER_CANCELLED_BEFORE_START;
}
export class TransientProviderError extends DomainError {
  readonly type = ErrorType.TRANSIENT_PROVIDER_ERROR;
  override readonly retryable = true;
}
