import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from '../../lib/db';
import { checkoutRequest } from './api';
import { eventually } from './services';

/**
 * A client of one test's API: places checkouts and reads them back, with its token.
 *
 * @example
 * const api = checkoutClient(base, TOKEN);
 * const { status, orderId } = await api.place({ customerId: 'cust-x' });
 */
export function checkoutClient(base: string, token: string) {
  const headers = (key?: string) => ({
    Authorization: `Bearer ${token}`,
    'Content-Type': 'application/json',
    ...(key ? { 'Idempotency-Key': key } : {}),
  });
  return {
    /** POST /checkouts with a fresh Idempotency-Key. */
    async place(order: Parameters<typeof checkoutRequest>[0]): Promise<{ status: number; orderId: string }> {
      const res = await fetch(`${base}/checkouts`, {
        method: 'POST',
        headers: headers(randomUUID()),
        body: JSON.stringify(checkoutRequest(order)),
      });
      const body = (await res.json()) as { orderId?: string };
      return { status: res.status, orderId: body.orderId ?? '' };
    },
    /** GET /checkouts/{orderId}: the status code and the body. */
    async get(orderId: string): Promise<{ status: number; body: Record<string, unknown> }> {
      const res = await fetch(`${base}/checkouts/${orderId}`, { headers: headers() });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    /** POST /checkouts/{orderId}/cancel or /payment-confirmation, with an optional Idempotency-Key. */
    async command(
      orderId: string,
      action: 'cancel' | 'payment-confirmation',
      options: { body?: unknown; key?: string } = {},
    ): Promise<{ status: number; body: Record<string, unknown> }> {
      const res = await fetch(`${base}/checkouts/${orderId}/${action}`, {
        method: 'POST',
        headers: headers(options.key),
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
  };
}

/** Waits until every order's row has `status`; fails naming the ones that did not get there. */
export async function allReach(db: Db, orderIds: readonly string[], status: string, timeoutMs: number): Promise<void> {
  await eventually(
    async () => {
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = $2',
        [orderIds, status],
      );
      return rows[0]?.n === orderIds.length ? true : undefined;
    },
    timeoutMs,
    `${orderIds.length} orders to be ${status}`,
  );
}

/** Every run (execution) of the order's saga that Temporal's visibility knows. */
export async function sagaRuns(temporal: Client, orderId: string): Promise<string[]> {
  const runs: string[] = [];
  for await (const wf of temporal.workflow.list({ query: `WorkflowId="checkout-${orderId}"` })) runs.push(wf.runId);
  return runs;
}

/** Whether the order's saga exists, read from the execution itself (not visibility, which lags). */
export async function sagaExists(temporal: Client, orderId: string): Promise<boolean> {
  return temporal.workflow
    .getHandle(`checkout-${orderId}`)
    .describe()
    .then(
      () => true,
      (err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      },
    );
}

/** Each order has exactly one saga run (visibility is eventually consistent: waits for the first). */
export async function oneRunEach(temporal: Client, orderIds: readonly string[]): Promise<void> {
  for (const orderId of orderIds) {
    const runs = await eventually(
      async () => {
        const found = await sagaRuns(temporal, orderId);
        return found.length > 0 ? found : undefined;
      },
      20_000,
      `the saga of ${orderId} in visibility`,
    );
    assert.equal(runs.length, 1, `order ${orderId} has one saga run, not ${runs.length}`);
  }
}

/** Charges the simulated provider holds for these orders, by status. */
export async function chargesOf(db: Db, orderIds: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM sim_provider_charges WHERE idempotency_key = ANY($1) GROUP BY status`,
    [orderIds.map((id) => `order:${id}:charge`)],
  );
  return new Map(rows.map((r) => [r.status, r.n]));
}

/** The order's saga start still queued (not recorded as started). */
export async function queuedStarts(db: Db, orderIds: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ order_id: string }>(
    'SELECT order_id FROM saga_starts WHERE order_id = ANY($1::uuid[])',
    [orderIds],
  );
  return rows.map((r) => r.order_id);
}
