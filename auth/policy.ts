import { isScope, type Principal, type Scope } from './principal';

/**
 * Who may do what: the one place the API's authorization decisions are made. The HTTP edge asks
 * {@link authorize} for each operation and {@link rateLimitClass} for its quota; the checkout's
 * use cases ask {@link mayActFor} before they touch an order (another customer's is "not found").
 */

export interface OperationPolicy {
  /** The scope the operation needs; `undefined`: any authenticated principal. */
  scope: Scope | undefined;
  /** Whether it changes state: write operations are rate limited per principal. */
  writes: boolean;
}

/**
 * Every authenticated operation of the API, by its OpenAPI `operationId`. An authenticated route
 * without an entry here is refused (see `api/authorization.ts`), so a new route cannot go out
 * unguarded by accident.
 */
export const OPERATIONS = {
  placeCheckout: { scope: 'checkout:write', writes: true },
  getCheckout: { scope: 'checkout:read', writes: false },
  cancelCheckout: { scope: 'checkout:write', writes: true },
  confirmPayment: { scope: 'payments:confirm', writes: true },
  listOrders: { scope: 'checkout:read', writes: false },
  // The catalogue (names, prices, stock) is what a storefront shows anyone; changing it is not.
  getInventoryItem: { scope: undefined, writes: false },
  putInventoryItem: { scope: 'inventory:write', writes: true },
} as const satisfies Record<string, OperationPolicy>;

export type Operation = keyof typeof OPERATIONS;

export const isOperation = (value: string): value is Operation => Object.hasOwn(OPERATIONS, value);

/**
 * The scope `principal` lacks for `operation`, or `undefined` when it may perform it.
 *
 * @example
 * authorize(customer, 'confirmPayment'); // 'payments:confirm'
 */
export function authorize(principal: Principal, operation: Operation): Scope | undefined {
  const { scope } = OPERATIONS[operation] as OperationPolicy;
  return scope === undefined || principal.scopes.has(scope) ? undefined : scope;
}

/**
 * A customer acts only for itself: an OIDC principal without `checkout:any`. Storefront backends
 * and support tools hold `checkout:any` (or are service tokens) and act for any customer.
 */
export const isCustomer = (principal: Principal): boolean =>
  principal.kind === 'oidc' && !principal.scopes.has('checkout:any');

/**
 * The scopes an OIDC access token grants, from what it claims: known scopes only, and never
 * `payments:confirm` for a customer, whatever the token says: a 3-D Secure result must come from
 * the payment provider (signed webhook) or a trusted backend, never from the customer it protects
 * against.
 *
 * @example
 * grantedScopes(['checkout:read', 'payments:confirm', 'openid']); // Set { 'checkout:read' }
 */
export function grantedScopes(claimed: Iterable<string>): Set<Scope> {
  const scopes = new Set([...claimed].filter(isScope));
  if (!scopes.has('checkout:any')) scopes.delete('payments:confirm');
  return scopes;
}

/**
 * Whether `principal` may act on behalf of `customerId`: its own `sub`, or anyone with
 * `checkout:any`. A service token without `checkout:any` is no customer, so it acts for nobody.
 */
export function mayActFor(principal: Principal, customerId: string): boolean {
  return principal.scopes.has('checkout:any') || (principal.subject !== undefined && principal.subject === customerId);
}

/**
 * Whether `principal` may confirm the pending payment of any customer's order. `payments:confirm`
 * belongs to the provider's side (a trusted backend, a service token), never to a customer (see
 * {@link grantedScopes}), and answers for a payment, not for a customer: a service token limited
 * to it has no `sub` and no `checkout:any`, yet confirming is all it is for.
 */
export const mayConfirmAnyPayment = (principal: Principal): boolean => principal.scopes.has('payments:confirm');

/** Which write quota applies: customers share one policy, every other principal another. */
export const rateLimitClass = (principal: Principal): 'customer' | 'service' =>
  isCustomer(principal) ? 'customer' : 'service';
