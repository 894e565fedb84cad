import { createHash } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import {
  checkoutWorkflowId,
  OrderStatus,
  orderTotalCents,
  TERMINAL_STATUSES,
  UUID_PATTERN,
  type CheckoutInput,
  type CheckoutState,
  type OrderItem,
} from '../domain/order';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import { withTransaction } from '../lib/db';
import { newTraceparent, type Clock, type Ids } from '../lib/runtime';
import { activeTraceparent } from '../events/trace-context';
import { appendEvent } from '../outbox/append';
import { cancelUpdate, checkoutSaga, confirmPaymentUpdate, getStateQuery } from '../workflows/checkout-saga';
import { CustomerIdKey, OrderStatusKey } from '../workflows/search-attributes';
import { ProblemError, validationProblem } from './problem';
import type { CheckoutRequest } from './schemas';

export interface CheckoutServiceDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  clock: Clock;
  ids: Ids;
  /** How long an Idempotency-Key is remembered. */
  idempotencyTtlMs: number;
  /** Saga deadlines from the configuration, handed to each new saga in its input. */
  saga: { paymentConfirmationTimeoutMs: number; compensationAlertAfterMs: number };
  logger: Logger;
}

export interface Accepted {
  orderId: string;
  status: 'PENDING';
}

/** Canonical JSON (sorted keys) so equal bodies hash equal whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const isOrderStatus = (value: string): value is OrderStatus => Object.hasOwn(OrderStatus, value);

/** How long an update may wait for the saga's worker before the API answers 503. */
const UPDATE_DEADLINE_MS = 10_000;

interface KeyRow {
  request_hash: string;
  order_id: string;
  response: Accepted;
  expired: boolean;
}

/**
 * Places checkouts and reads them back.
 *
 * @example
 * const service = createCheckoutService({ db, temporal, taskQueue: 'checkout', clock, ids, idempotencyTtlMs: 86_400_000 });
 * const { orderId } = await service.place(principal, key, body);
 */
export function createCheckoutService(deps: CheckoutServiceDeps) {
  const { db, temporal } = deps;

  async function startSaga(input: CheckoutInput): Promise<void> {
    const itemCount = input.items.reduce((n, i) => n + i.quantity, 0);
    try {
      await temporal.workflow.start(checkoutSaga, {
        taskQueue: deps.taskQueue,
        workflowId: checkoutWorkflowId(input.orderId),
        args: [input],
        // A replayed request must neither start a second run nor fail: join the running one,
        // and refuse (then ignore) a new run after the saga has closed.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: new TypedSearchAttributes([
          { key: OrderStatusKey, value: 'PENDING' },
          { key: CustomerIdKey, value: input.customerId },
        ]),
        staticSummary: `Order ${input.orderId} · customer ${input.customerId} · ${itemCount} item(s) · ${(input.totalCents / 100).toFixed(2)} ${input.currency}`,
        staticDetails: input.items
          .map((i) => `- ${i.quantity} × ${i.sku} (${i.name}) @ ${i.unitPriceCents}¢`)
          .join('\n'),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  async function loadInput(orderId: string): Promise<CheckoutInput> {
    const { rows } = await db.query<{
      customer_id: string;
      items: OrderItem[];
      total_cents: string;
      currency: string;
      payment_method: string;
      shipping_address: CheckoutInput['shippingAddress'];
      created_at: Date;
      traceparent: string;
    }>(
      'SELECT customer_id, items, total_cents, currency, payment_method, shipping_address, created_at, traceparent FROM orders WHERE id = $1',
      [orderId],
    );
    const row = rows[0];
    if (!row) throw new Error(`order ${orderId} vanished`);
    return {
      orderId,
      customerId: row.customer_id,
      items: row.items,
      totalCents: Number(row.total_cents),
      currency: row.currency,
      paymentMethod: row.payment_method,
      shippingAddress: row.shipping_address,
      createdAt: row.created_at.toISOString(),
      traceparent: row.traceparent,
      ...deps.saga,
    };
  }

  async function orderExists(orderId: string): Promise<boolean> {
    const { rowCount } = await db.query('SELECT 1 FROM orders WHERE id = $1', [orderId]);
    return (rowCount ?? 0) > 0;
  }

  /**
   * The update id of a command. With the client's Idempotency-Key it is derived from it, so a
   * retry (e.g. after a 503, when the first attempt may still be delivered once a worker is back)
   * joins the same update and gets its outcome instead of being validated again; without a key,
   * every call is a new update, validated against the saga's current state.
   */
  function updateIdFor(command: string, orderId: string, retryKey: string | undefined): string {
    return retryKey === undefined
      ? `${command}-${orderId}-${deps.ids.uuid()}`
      : `${command}-${orderId}-${createHash('sha256').update(retryKey).digest('hex').slice(0, 32)}`;
  }

  /**
   * Sends an update to the order's saga and maps the outcomes: validator rejection -> 409, no
   * such order -> 404, a saga that cannot answer in time (no worker) -> 503 with Retry-After.
   */
  async function updateSaga(
    orderId: string,
    send: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<CheckoutState>,
  ): Promise<CheckoutState> {
    if (!UUID_PATTERN.test(orderId) || !(await orderExists(orderId)))
      throw new ProblemError(404, { slug: 'not-found', title: 'Order not found', detail: `no order ${orderId}` });
    const handle = temporal.workflow.getHandle(checkoutWorkflowId(orderId));
    try {
      return await temporal.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () => send(handle));
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new ProblemError(409, {
          slug: 'conflict',
          title: 'Not possible in the order’s current state',
          detail: err.cause?.message ?? err.message,
        });
      }
      if (err instanceof WorkflowNotFoundError) {
        // The saga has ended (or never started): nothing can be changed any more.
        throw new ProblemError(409, {
          slug: 'conflict',
          title: 'Not possible in the order’s current state',
          detail: 'the order’s saga is not running',
        });
      }
      deps.logger.warn({ err, orderId }, 'saga did not answer the update in time');
      throw new ProblemError(503, {
        slug: 'saga-unavailable',
        title: 'Saga unavailable',
        detail: 'the saga could not be reached in time; retry later (a retry is applied at most once)',
        headers: { 'Retry-After': '5' },
      });
    }
  }

  return {
    /**
     * Prices the order from the catalog, stores it with its `checkout.order.placed` event and the
     * Idempotency-Key in one transaction, then starts the saga. Requests with one key are
     * serialised by an advisory lock; a replay re-issues the (idempotent) start, which also
     * recovers a request that crashed between commit and start.
     */
    async place(principal: string, key: string, body: CheckoutRequest): Promise<Accepted> {
      const requestHash = createHash('sha256').update(canonical(body)).digest('hex');
      const skus = body.items.map((i) => i.sku);
      const { rows: products } = await db.query<{ sku: string; name: string; price_cents: string }>(
        'SELECT sku, name, price_cents FROM products WHERE sku = ANY($1)',
        [skus],
      );
      const bySku = new Map(products.map((p) => [p.sku, p]));
      const unknown = body.items.flatMap((item, i) =>
        bySku.has(item.sku) ? [] : [{ path: `items.${i}.sku`, message: `unknown SKU ${item.sku}` }],
      );
      if (unknown.length > 0) throw validationProblem(unknown);
      const items: OrderItem[] = body.items.map((item) => {
        const p = bySku.get(item.sku)!;
        return { sku: item.sku, name: p.name, quantity: item.quantity, unitPriceCents: Number(p.price_cents) };
      });

      const outcome = await withTransaction(db, async (tx): Promise<{ accepted: Accepted; input?: CheckoutInput }> => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${principal}:${key}`]);
        const { rows } = await tx.query<KeyRow>(
          'SELECT request_hash, order_id, response, expires_at < now() AS expired FROM idempotency_keys WHERE principal = $1 AND key = $2',
          [principal, key],
        );
        const existing = rows[0];
        if (existing && !existing.expired) {
          if (existing.request_hash !== requestHash) {
            throw new ProblemError(422, {
              slug: 'idempotency-key-reused',
              title: 'Idempotency-Key reused',
              detail: 'this Idempotency-Key was already used with a different request body',
            });
          }
          return { accepted: existing.response };
        }
        if (existing)
          await tx.query('DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2', [principal, key]);

        const orderId = deps.ids.uuid();
        const now = deps.clock.now();
        const totalCents = orderTotalCents(items);
        // The request's span when traced, so the saga and every event of this order join its trace.
        const traceparent = activeTraceparent() ?? newTraceparent(deps.ids);
        await tx.query(
          `INSERT INTO orders (id, customer_id, status, currency, total_cents, items, shipping_address, payment_method, traceparent, created_at, updated_at)
           VALUES ($1, $2, 'PENDING', $3, $4, $5, $6, $7, $8, $9, $9)`,
          [
            orderId,
            body.customerId,
            body.currency,
            totalCents,
            JSON.stringify(items),
            JSON.stringify(body.shippingAddress),
            body.payment.method,
            traceparent,
            now,
          ],
        );
        await appendEvent(
          tx,
          { clock: deps.clock, ids: deps.ids, source: '/checkout-saga/checkout' },
          {
            orderId,
            traceparent,
            event: {
              type: 'checkout.order.placed',
              dataversion: 1,
              data: {
                orderId,
                customerId: body.customerId,
                items: items.map((i) => ({ ...i, lineTotalCents: i.quantity * i.unitPriceCents })),
                totalCents,
                currency: body.currency,
                shippingAddress: body.shippingAddress,
                placedAt: now.toISOString(),
              },
            },
          },
        );
        const accepted: Accepted = { orderId, status: 'PENDING' };
        await tx.query(
          `INSERT INTO idempotency_keys (principal, key, request_hash, order_id, response, expires_at)
           VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
          [principal, key, requestHash, orderId, JSON.stringify(accepted), deps.idempotencyTtlMs / 1000],
        );
        const input: CheckoutInput = {
          orderId,
          customerId: body.customerId,
          items,
          totalCents,
          currency: body.currency,
          paymentMethod: body.payment.method,
          shippingAddress: body.shippingAddress,
          createdAt: now.toISOString(),
          traceparent,
          ...deps.saga,
        };
        return { accepted, input };
      });
      // A replay has no input in hand: load the stored order and re-issue the idempotent start.
      await startSaga(outcome.input ?? (await loadInput(outcome.accepted.orderId)));
      const orderId = outcome.accepted.orderId;
      deps.logger.info(
        {
          orderId,
          workflowId: checkoutWorkflowId(orderId),
          customerId: body.customerId,
          replayed: outcome.input === undefined,
        },
        'checkout accepted',
      );
      return outcome.accepted;
    },

    /** Cancels the order (accepted until it ships; then compensated to CANCELLED). */
    cancel(orderId: string, retryKey?: string): Promise<CheckoutState> {
      return updateSaga(orderId, (handle) =>
        handle.executeUpdate(cancelUpdate, { updateId: updateIdFor('cancel', orderId, retryKey) }),
      );
    },

    /** The customer's 3-D Secure answer, accepted only while the saga waits for it. */
    confirmPayment(orderId: string, approved: boolean, retryKey?: string): Promise<CheckoutState> {
      return updateSaga(orderId, (handle) =>
        handle.executeUpdate(confirmPaymentUpdate, {
          args: [{ approved }],
          updateId: updateIdFor('payment-confirmation', orderId, retryKey),
        }),
      );
    },

    /** The saga's live state (query), or the stored order when the saga cannot answer. */
    async get(orderId: string): Promise<CheckoutState | undefined> {
      if (!UUID_PATTERN.test(orderId)) return undefined;
      const handle = temporal.workflow.getHandle(checkoutWorkflowId(orderId));
      try {
        return await temporal.withDeadline(Date.now() + 3_000, () => handle.query(getStateQuery));
      } catch (err) {
        // No saga (e.g. never started), no worker to answer, or Temporal unreachable: the database answers.
        if (!(err instanceof WorkflowNotFoundError))
          deps.logger.warn({ err, orderId }, 'saga query failed; answering from the database');
      }
      const row = await stored(db, orderId);
      if (!row || TERMINAL_STATUSES.includes(row.status)) return row;
      // The row only learns the outcome at the end; while the saga runs without a worker to
      // answer, the server-side OrderStatus search attribute (kept current by the saga) is fresher.
      try {
        const description = await temporal.withDeadline(Date.now() + 2_000, () => handle.describe());
        const status = description.typedSearchAttributes.get(OrderStatusKey);
        if (status && isOrderStatus(status)) return { ...row, status };
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError))
          deps.logger.warn({ err, orderId }, 'saga describe failed; answering with the stored status');
      }
      return row;
    },
  };
}

async function stored(db: Db, orderId: string): Promise<CheckoutState | undefined> {
  const { rows } = await db.query<{
    id: string;
    status: CheckoutState['status'];
    failure_reason: CheckoutState['failureReason'] | null;
    customer_id: string;
    items: OrderItem[];
    total_cents: string;
    currency: string;
    steps: CheckoutState['steps'];
    created_at: Date;
    updated_at: Date;
  }>(
    'SELECT id, status, failure_reason, customer_id, items, total_cents, currency, steps, created_at, updated_at FROM orders WHERE id = $1',
    [orderId],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    orderId: row.id,
    status: row.status,
    ...(row.failure_reason ? { failureReason: row.failure_reason } : {}),
    customerId: row.customer_id,
    items: row.items,
    totalCents: Number(row.total_cents),
    currency: row.currency,
    steps: row.steps,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
