import pLimit from 'p-limit';
import { sleep } from '../../lib/wait';
import type { ChaosClient } from './client';
import type { PlannedOrder } from './plan';

/** What the client got for one planned order. */
export interface OrderRun {
  plan: PlannedOrder;
  /** Set once POST /checkouts answered 202: the order was acknowledged. */
  orderId?: string;
  /** Final status of POST /checkouts (undefined: no final answer before the deadline). */
  placeStatus?: number;
  cancelStatus?: number;
  confirmStatus?: number;
  /**
   * Whether the cancel / the confirmation was sent at all. Sent without a final answer (every
   * attempt timed out or answered 503 until the deadline) it may or may not have taken effect.
   */
  cancelSent?: boolean;
  confirmSent?: boolean;
  /** 4xx answers a correct client should never get (other than the expected 409s). */
  unexpected: string[];
}

const POLL_MS = 500;
const WATCH_MS = 1_000;
const CONCURRENT_EVERY = 5;
const CONCURRENT_CLIENTS = 3;
const TERMINAL = new Set(['COMPLETED', 'CANCELLED', 'FAILED', 'COMPENSATING']);

async function placeOne(api: ChaosClient, o: PlannedOrder, run: OrderRun): Promise<void> {
  const body = {
    customerId: o.customerId,
    items: o.items,
    payment: { method: o.method },
    shippingAddress: {
      name: `Chaos ${o.index}`,
      line1: `${o.index} Fault St`,
      city: 'Faultville',
      postalCode: '10115',
      country: o.country,
    },
  };
  const place = () => api.request(o.index, 'place', 'POST', '/checkouts', { key: o.idempotencyKey, body });
  // Every fifth order is sent by several clients at once with the same Idempotency-Key (during
  // faults, as the rest): each must get the same order, and only one order may exist.
  const [r, ...twins] = await Promise.all(
    Array.from({ length: o.index % CONCURRENT_EVERY === 0 ? CONCURRENT_CLIENTS : 1 }, place),
  );
  for (const t of twins) {
    if (!t || !r) continue;
    const [a, b] = [r.body, t.body].map((x) => (x as { orderId?: unknown } | undefined)?.orderId);
    if (t.status !== r.status || a !== b)
      run.unexpected.push(
        `concurrent placements with one key answered ${r.status} ${String(a)} and ${t.status} ${String(b)}`,
      );
  }
  run.placeStatus = r?.status;
  if (r?.status === 202) {
    const id = (r.body as { orderId?: unknown }).orderId;
    if (typeof id === 'string') run.orderId = id;
    else run.unexpected.push('202 without an orderId');
  } else if (r) {
    run.unexpected.push(`POST /checkouts answered ${r.status}`);
  }
}

/** Polls GET /checkouts/{id} until the saga waits for the 3-D Secure answer (or has moved past it). */
async function awaitConfirmationRequest(
  api: ChaosClient,
  o: PlannedOrder,
  orderId: string,
  until: number,
): Promise<boolean> {
  while (Date.now() < until) {
    const r = await api.request(o.index, 'get', 'GET', `/checkouts/${orderId}`, { once: true, orderId });
    const status = (r?.body as { status?: unknown } | undefined)?.status;
    if (status === 'AWAITING_PAYMENT_CONFIRMATION') return true;
    if (typeof status === 'string' && TERMINAL.has(status)) return false;
    await sleep(POLL_MS);
  }
  return false;
}

async function followUp(api: ChaosClient, o: PlannedOrder, run: OrderRun, confirmWindowMs: number): Promise<void> {
  const orderId = run.orderId;
  if (!orderId) return;
  if (o.intent === 'cancel') {
    await sleep(o.cancelAfterMs);
    run.cancelSent = true;
    const r = await api.request(o.index, 'cancel', 'POST', `/checkouts/${orderId}/cancel`, {
      key: `cancel-${o.idempotencyKey}`,
      orderId,
    });
    run.cancelStatus = r?.status;
    if (r && r.status !== 202 && r.status !== 409) run.unexpected.push(`cancel answered ${r.status}`);
    return;
  }
  if (o.intent === '3ds-approve' || o.intent === '3ds-refuse') {
    if (!(await awaitConfirmationRequest(api, o, orderId, Date.now() + confirmWindowMs))) return;
    run.confirmSent = true;
    const r = await api.request(o.index, 'confirm', 'POST', `/checkouts/${orderId}/payment-confirmation`, {
      key: `confirm-${o.idempotencyKey}`,
      body: { approved: o.intent === '3ds-approve' },
      orderId,
    });
    run.confirmStatus = r?.status;
    if (r && r.status !== 202 && r.status !== 409) run.unexpected.push(`payment-confirmation answered ${r.status}`);
  }
}

/**
 * Reads the order until it ends (or `until`), so the history holds a sequence of status reads
 * for the checker: a status that goes back, or a step that un-happens, shows there.
 */
async function watchUntilEnd(api: ChaosClient, o: PlannedOrder, orderId: string, until: number): Promise<void> {
  while (Date.now() < until) {
    const r = await api.request(o.index, 'get', 'GET', `/checkouts/${orderId}`, { once: true, orderId });
    const status = (r?.body as { status?: unknown } | undefined)?.status;
    if (typeof status === 'string' && TERMINAL.has(status) && status !== 'COMPENSATING') return;
    await sleep(WATCH_MS);
  }
}

/**
 * Plays the planned orders: each is placed at its time, then cancelled or answered as planned.
 * At most `concurrency` orders are being placed at once.
 *
 * @example
 * const runs = await runWorkload(api, orders, Date.now(), { concurrency: 24, confirmWindowMs: 20_000, watchUntil: Date.now() + 300_000 });
 */
export async function runWorkload(
  api: ChaosClient,
  orders: readonly PlannedOrder[],
  startedAt: number,
  opts: { concurrency: number; confirmWindowMs: number; watchUntil: number },
): Promise<OrderRun[]> {
  const limit = pLimit(opts.concurrency);
  return Promise.all(
    orders.map(async (o) => {
      const run: OrderRun = { plan: o, unexpected: [] };
      const wait = startedAt + o.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      // Only placing is bounded: a follow-up mostly waits (cancel delay, 3-D Secure polling).
      await limit(() => placeOne(api, o, run));
      await followUp(api, o, run, opts.confirmWindowMs);
      if (run.orderId) await watchUntilEnd(api, o, run.orderId, opts.watchUntil);
      return run;
    }),
  );
}
