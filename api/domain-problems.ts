import type { CheckoutError, CheckoutFailure } from '../checkouts/errors';
import { ProblemError, validationProblem } from './problem';

const NOT_IN_CURRENT_STATE = 'Not possible in the order’s current state';

/**
 * The one table from checkout errors to problem+json: each failure's status, problem type, title
 * and headers. Keyed by the error's `code`, so a failure without an entry does not compile.
 */
const PROBLEM_OF: { [E in CheckoutFailure as E['code']]: (err: E) => ProblemError } = {
  ORDER_NOT_FOUND: (err) => new ProblemError(404, { slug: 'not-found', title: 'Order not found', detail: err.message }),
  COMMAND_REJECTED: (err) =>
    new ProblemError(409, { slug: 'conflict', title: NOT_IN_CURRENT_STATE, detail: err.message }),
  IDEMPOTENCY_KEY_REUSED: (err) =>
    new ProblemError(422, { slug: 'idempotency-key-reused', title: 'Idempotency-Key reused', detail: err.message }),
  UNKNOWN_SKU: (err) => validationProblem(err.fields),
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
