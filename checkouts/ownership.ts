import { mayActFor, mayConfirmAnyPayment } from '../auth/policy';
import type { Principal } from '../auth/principal';
import { UUID_PATTERN } from '../domain/order';
import type { Db } from '../lib/db';
import { ForeignCustomer, OrderNotFound } from './errors';
import { orderCustomer } from './stored-order';

/**
 * The checkout's ownership rules, on top of the scopes the edge has already checked: a customer
 * acts only for itself, `checkout:any` for anyone, and `payments:confirm` confirms any order's
 * payment (`auth/policy.ts` says who is who).
 */

/**
 * @throws ForeignCustomer when `principal` may not act for `customerId` (placing an order or
 *   listing orders for another customer).
 */
export function mustActFor(principal: Principal, customerId: string): void {
  if (!mayActFor(principal, customerId)) throw new ForeignCustomer(customerId);
}

/**
 * Resolves once the order exists and `principal` may act on it.
 *
 * @throws OrderNotFound for an unknown id, a malformed one, and another customer's order alike,
 *   so a customer cannot learn whether someone else's order exists.
 */
export async function mustOwnOrder(db: Db, principal: Principal, orderId: string): Promise<void> {
  const customerId = UUID_PATTERN.test(orderId) ? await orderCustomer(db, orderId) : undefined;
  if (customerId === undefined || !mayActFor(principal, customerId)) throw new OrderNotFound(orderId);
}

/**
 * Resolves once the order exists and `principal` may answer its payment confirmation: a holder of
 * `payments:confirm` for any order, anyone else (who the edge lets through) by {@link mustOwnOrder}.
 *
 * @throws OrderNotFound for an unknown or malformed id, and (without `payments:confirm`) for
 *   another customer's order.
 */
export async function mustConfirmPaymentOf(db: Db, principal: Principal, orderId: string): Promise<void> {
  if (!mayConfirmAnyPayment(principal)) return mustOwnOrder(db, principal, orderId);
  const customerId = UUID_PATTERN.test(orderId) ? await orderCustomer(db, orderId) : undefined;
  if (customerId === undefined) throw new OrderNotFound(orderId);
}
