import { TERMINAL_STATUSES, type CheckoutState } from '../domain/order';
import type { Db } from '../lib/db';
import type { SagaClient } from './saga-client';
import { loadStoredCheckout } from './stored-order';

/**
 * An order's current state: the saga's live state when it answers, else the stored row, with
 * the saga's server-side status when the row has not learnt the outcome yet.
 *
 * @returns `undefined` when no such order is stored.
 * @example
 * const state = await readCheckout({ db, saga }, orderId);
 */
export async function readCheckout(
  deps: { db: Db; saga: Pick<SagaClient, 'state' | 'searchStatus'> },
  orderId: string,
): Promise<CheckoutState | undefined> {
  const live = await deps.saga.state(orderId);
  if (live !== undefined) return live;
  const row = await loadStoredCheckout(deps.db, orderId);
  if (!row || TERMINAL_STATUSES.includes(row.status)) return row;
  // The row only learns the outcome at the end; while the saga runs without a worker to answer,
  // the server-side OrderStatus search attribute (kept current by the saga) is fresher.
  const status = await deps.saga.searchStatus(orderId);
  return status ? { ...row, status } : row;
}
