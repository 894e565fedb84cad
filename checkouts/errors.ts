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

/** The order names SKUs the catalog does not have; `fields` lists each one by its path. */
export class UnknownSku extends CheckoutError {
  readonly code = 'UNKNOWN_SKU';

  constructor(readonly fields: InvalidField[]) {
    super(fields.map((f) => `${f.path}: ${f.message}`).join('; '));
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
export type CheckoutFailure = OrderNotFound | CommandRejected | IdempotencyKeyReused | UnknownSku | SagaUnavailable;
