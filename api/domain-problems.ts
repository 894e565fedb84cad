import type { CheckoutError, CheckoutFailure } from '../checkouts/errors';
import { isConnectionFailure } from '../lib/db';
import { ProblemError, type FieldError } from './problem';

const NOT_IN_CURRENT_STATE = 'Not possible in the order’s current state';

/** A 422: the request is well-formed and valid per the schema, but names something the checkout refuses. */
const unprocessable = (slug: string, title: string, err: CheckoutError & { fields: FieldError[] }) =>
  new ProblemError(422, { slug, title, detail: err.message, errors: err.fields });

/**
 * The one table from checkout errors to problem+json: each failure's status, problem type, title
 * and headers. Keyed by the error's `code`, so a failure without an entry does not compile.
 */
const PROBLEM_OF: { [E in CheckoutFailure as E['code']]: (err: E) => ProblemError } = {
  ORDER_NOT_FOUND: (err) => new ProblemError(404, { slug: 'not-found', title: 'Order not found', detail: err.message }),
  FOREIGN_CUSTOMER: (err) =>
    new ProblemError(403, { slug: 'foreign-customer', title: 'Not your customer', detail: err.message }),
  COMMAND_REJECTED: (err) =>
    new ProblemError(409, { slug: 'conflict', title: NOT_IN_CURRENT_STATE, detail: err.message }),
  IDEMPOTENCY_KEY_REUSED: (err) =>
    new ProblemError(422, { slug: 'idempotency-key-reused', title: 'Idempotency-Key reused', detail: err.message }),
  UNKNOWN_SKU: (err) => unprocessable('unknown-sku', 'Unknown SKU', err),
  UNKNOWN_PAYMENT_METHOD: (err) => unprocessable('unknown-payment-method', 'Unknown payment method', err),
  UNUSABLE_PROVIDER_EVENT: (err) => unprocessable('unusable-provider-event', 'Notification cannot be applied', err),
  PROVIDER_EVENT_TOO_EARLY: (err) =>
    new ProblemError(503, {
      slug: 'provider-event-too-early',
      title: 'Notification arrived too early',
      detail: err.message,
      headers: { 'Retry-After': String(err.retryAfterSeconds) },
    }),
  SAGA_UNAVAILABLE: (err) =>
    new ProblemError(503, {
      slug: 'saga-unavailable',
      title: 'Saga unavailable',
      detail: err.message,
      headers: { 'Retry-After': String(err.retryAfterSeconds) },
    }),
};

/**
 * The problem+json answer to a checkout error.
 *
 * @example
 * problemOf(new OrderNotFound(id)).toProblem(); // { type: '.../not-found', title: 'Order not found', status: 404, ... }
 */
export function problemOf(err: CheckoutError): ProblemError {
  // Sound: the table's entry for a code takes exactly the error class that carries that code.
  const toProblem = PROBLEM_OF[err.code] as (err: CheckoutError) => ProblemError;
  return toProblem(err);
}

/** What a client waits before retrying while PostgreSQL is unreachable: about a restart or a fail-over. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * The 503 of a request that could not reach PostgreSQL (refused, timed out, shut down, cut), or
 * `undefined` for any other error. Every route that touches the database declares it; without
 * this the client saw an undeclared 500 for what is an outage to wait out.
 *
 * @example
 * databaseUnavailable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))?.status; // 503
 */
export function databaseUnavailable(err: unknown): ProblemError | undefined {
  if (!isConnectionFailure(err)) return undefined;
  return new ProblemError(503, {
    slug: 'database-unavailable',
    title: 'Database unavailable',
    detail:
      'the database cannot be reached right now; the request may not have been applied: retry it later (a checkout with the same Idempotency-Key)',
    headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) },
  });
}
