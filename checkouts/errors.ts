/**
 * The failures the checkout's use cases report on purpose, in the checkout's own terms: no
 * status codes, no problem types. `api/domain-problems.ts` is the one place that turns each into
 * an HTTP answer; another caller (a CLI, a process starting sagas) can handle them its own way.
 */

/** A request field that names something the checkout does not know, e.g. an unknown SKU. */
export interface InvalidField {
  /** Dotted path into the request, e.g. `items.2.sku`. */
  path: string;
  message: string;
}

/** Base of every checkout failure; `code` says which one, so a handler table can be exhaustive. */
export abstract class CheckoutError extends Error {
  abstract readonly code: CheckoutFailure['code'];

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No order with this id (or not a well-formed order id at all). */
export class OrderNotFound extends CheckoutError {
  readonly code = 'ORDER_NOT_FOUND';

  constructor(readonly orderId: string) {
    super(`no order ${orderId}`);
  }
}

/** The saga refused a command in the order's current state (e.g. cancel after shipping), or has ended. */
export class CommandRejected extends CheckoutError {
  readonly code = 'COMMAND_REJECTED';
}

/** An Idempotency-Key came back with a different request body than the one it was first used with. */
export class IdempotencyKeyReused extends CheckoutError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';

  constructor() {
    super('this Idempotency-Key was already used with a different request body');
  }
}

/**
 * The caller asked to act for a customer it may not act for: a customer placing an order or
 * listing orders for someone else (needs `checkout:any`). An order by id is never this: another
 * customer's order is OrderNotFound, so its existence is not revealed.
 */
export class ForeignCustomer extends CheckoutError {
  readonly code = 'FOREIGN_CUSTOMER';

  constructor(readonly customerId: string) {
    super(`this principal may not act for customer ${customerId}`);
  }
}

/** The order names SKUs the catalog does not have; `fields` lists each one by its path. */
export class UnknownSku extends CheckoutError {
  readonly code = 'UNKNOWN_SKU';

  constructor(readonly fields: InvalidField[]) {
    super(fields.map((f) => `${f.path}: ${f.message}`).join('; '));
  }
}

/** The payment provider does not know the order's payment-method token; `fields` names it. */
export class UnknownPaymentMethod extends CheckoutError {
  readonly code = 'UNKNOWN_PAYMENT_METHOD';

  constructor(readonly fields: InvalidField[]) {
    super(fields.map((f) => `${f.path}: ${f.message}`).join('; '));
  }
}

/** A provider notification names what this checkout cannot act on (e.g. a 3-D Secure outcome without an order). */
export class UnusableProviderEvent extends CheckoutError {
  readonly code = 'UNUSABLE_PROVIDER_EVENT';

  constructor(readonly fields: InvalidField[]) {
    super(fields.map((f) => `${f.path}: ${f.message}`).join('; '));
  }
}

/**
 * A provider notification arrived before the order can take it (e.g. a 3-D Secure outcome while
 * the saga is still charging): the provider should deliver it again after `retryAfterSeconds`.
 */
export class ProviderEventTooEarly extends CheckoutError {
  readonly code = 'PROVIDER_EVENT_TOO_EARLY';

  constructor(
    readonly retryAfterSeconds: number,
    status: string,
  ) {
    super(`the order is ${status} and not yet waiting for this notification; deliver it again later`);
  }
}

/** The saga could not answer in time (e.g. no worker); the command may be retried after `retryAfterSeconds`. */
export class SagaUnavailable extends CheckoutError {
  readonly code = 'SAGA_UNAVAILABLE';

  constructor(
    readonly retryAfterSeconds: number,
    options?: ErrorOptions,
  ) {
    super('the saga could not be reached in time; retry later (a retry is applied at most once)', options);
  }
}

/** Every concrete checkout failure: a new one is added here, and the compiler asks for its HTTP mapping. */
export type CheckoutFailure =
  | OrderNotFound
  | ForeignCustomer
  | CommandRejected
  | IdempotencyKeyReused
  | UnknownSku
  | UnknownPaymentMethod
  | UnusableProviderEvent
  | ProviderEventTooEarly
  | SagaUnavailable;
