import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { createSagaClient } from '../../checkouts/saga-client';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { randomIds } from '../../lib/runtime';
import { createTemporalClient } from '../../lib/temporal';
import { claimDueStarts } from '../../starter/queue';
import { runNotifications } from '../../workers/notifications';
import { runReadModel } from '../../workers/read-model';
import { runRelay } from '../../workers/relay';
import { runSagaStarter } from '../../workers/saga-starter';
import { runSagaWorker } from '../../workers/saga-worker';
import { startApi } from '../support/api';
import { checkoutClient, queuedStarts, sagaExists } from '../support/checkouts';
import { RunningComponents } from '../support/components';
import { eventually, freshSku, outboxSubjects, stockOf, testConfig, testDb, testLogger } from '../support/services';

const TOKEN = 'before-saga-token-0123456789';
const WEBHOOK_SECRET = 'whsec-before-saga-0123456789abcdef';

/** A 3-D Secure success for `orderId`, signed as the payment provider signs it. */
function signedAuthentication(orderId: string): { id: string; body: string; signature: string } {
  const id = `evt_${randomUUID()}`;
  const body = JSON.stringify({ id, type: 'payment.authentication.succeeded', data: { orderId } });
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac('sha256', WEBHOOK_SECRET).update(`${t}.${body}`).digest('hex');
  return { id, body, signature: `t=${t},v1=${v1}` };
}

type Client_ = ReturnType<typeof checkoutClient>;

// Given the API with no saga starter running, checkouts stay queued: the customer acts on them
// before their saga exists.
describe('commands before the saga starts', () => {
  const components = new RunningComponents();
  let config: Config;
  let db: Db;
  let temporal: Client;
  let api: Client_;
  let sku = '';
  let orderId = '';
  const answers: Record<string, { status: number; body: Record<string, unknown> }> = {};
  let notification: { id: string; status: number; retryAfter: string | null } | undefined;

  before(async () => {
    config = testConfig({ API_TOKENS: TOKEN, PORT: '0', PAYMENT_WEBHOOK_SECRET: WEBHOOK_SECRET });
    db = await testDb(config);
    temporal = await createTemporalClient(config.temporal);
    const logger = testLogger('before-the-saga');
    const running = startApi(config, logger, components.signal, { sagaStarter: false });
    components.add(running.running);
    api = checkoutClient(await running.base, TOKEN);
    sku = await freshSku(db, 5);
    ({ orderId } = await api.place({ customerId: 'cust-before', sku, method: 'pm_card_3ds' }));
    answers.pending = await api.get(orderId);
    answers.confirm = await api.command(orderId, 'payment-confirmation', { body: { approved: true } });
    const event = signedAuthentication(orderId);
    const delivered = await fetch(`${await running.base}/webhooks/payments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Payment-Signature': event.signature },
      body: event.body,
    });
    notification = { id: event.id, status: delivered.status, retryAfter: delivered.headers.get('Retry-After') };
    const key = randomUUID();
    answers.cancel = await api.command(orderId, 'cancel', { key });
    answers.cancelRetried = await api.command(orderId, 'cancel', { key });
    answers.cancelAgain = await api.command(orderId, 'cancel');
    answers.cancelled = await api.get(orderId);
    // A starter now finds nothing to start for it.
    components.add(runSagaStarter(config, logger, components.signal));
  });

  after(async () => {
    await components.stopAll();
    await temporal?.connection.close();
    await db?.end();
  });

  it('reads PENDING, with no step taken, until the saga starts', () => {
    assert.equal(answers.pending?.status, 200);
    assert.equal(answers.pending?.body.status, 'PENDING');
    assert.deepEqual(answers.pending?.body.steps, []);
  });

  it('answers a payment confirmation 409: no payment awaits one yet', () => {
    assert.equal(answers.confirm?.status, 409);
    assert.match(String(answers.confirm?.body.detail), /not started/);
  });

  it('answers the provider’s 3-D Secure notification 503 with Retry-After, unapplied, so it is delivered again', async () => {
    assert.equal(notification?.status, 503);
    assert.ok(Number(notification?.retryAfter) > 0, `Retry-After: ${notification?.retryAfter}`);
    const { rows } = await db.query<{ applied_at: Date | null }>(
      "SELECT applied_at FROM provider_events WHERE provider = 'payments' AND event_id = $1",
      [notification?.id],
    );
    assert.deepEqual(rows, [{ applied_at: null }]);
  });

  it('accepts a cancel (202) and ends the order CANCELLED at once, every step skipped', () => {
    assert.equal(answers.cancel?.status, 202);
    assert.equal(answers.cancel?.body.status, 'CANCELLED');
    assert.equal(answers.cancelled?.body.status, 'CANCELLED');
    const steps = answers.cancelled?.body.steps as { name: string; state: string }[];
    assert.deepEqual(
      steps.map((s) => `${s.name}:${s.state}`),
      ['reserveStock:SKIPPED', 'chargePayment:SKIPPED', 'shipOrder:SKIPPED'],
    );
  });

  it('answers a retry of that cancel (same Idempotency-Key) as the first, and another cancel 409', () => {
    assert.equal(answers.cancelRetried?.status, 202);
    assert.equal(answers.cancelRetried?.body.status, 'CANCELLED');
    assert.equal(answers.cancelAgain?.status, 409);
  });

  it('publishes checkout.order.cancelled, and nothing to undo: no stock moved, no saga', async () => {
    assert.deepEqual(await outboxSubjects(db, orderId), ['checkout.order.placed', 'checkout.order.cancelled']);
    assert.deepEqual(await stockOf(db, sku), { available: 5, reserved: 0, shipped: 0 });
    assert.deepEqual(await queuedStarts(db, [orderId]), [], 'the queued start is dropped');
    // Give the starter that runs now a moment: it must not start anything for this order.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(await sagaExists(temporal, orderId), false);
  });
});

// Given a queued checkout whose start Temporal accepted without it being recorded (a starter that
// crashed or timed out just then), the customer cancels: the cancel finds it queued and cancels
// in the database; then a worker runs the saga that exists anyway.
describe('a cancel before the start racing a start that was accepted but not recorded', () => {
  const components = new RunningComponents();
  let config: Config;
  let db: Db;
  let temporal: Client;
  let sku = '';
  let orderId = '';
  let cancel: { status: number; body: Record<string, unknown> };
  let result: { status: string; steps: { name: string; state: string }[] };

  before(async () => {
    config = testConfig({ API_TOKENS: TOKEN, PORT: '0' });
    db = await testDb(config);
    temporal = await createTemporalClient(config.temporal);
    const logger = testLogger('before-the-saga-race');
    const running = startApi(config, logger, components.signal, { sagaStarter: false });
    components.add(running.running);
    const api = checkoutClient(await running.base, TOKEN);
    sku = await freshSku(db, 5);
    ({ orderId } = await api.place({ customerId: 'cust-race', sku }));
    // What a starter does up to Temporal's answer, without its record: the saga exists, the row stays.
    const [pending] = await claimDueStartsOf(db, orderId);
    const saga = createSagaClient({
      temporal,
      taskQueue: config.temporal.taskQueue,
      ids: randomIds,
      deadlines: { paymentConfirmationTimeoutMs: 60_000, compensationAlertAfterMs: 3_600_000 },
      logger,
    });
    assert.equal(await saga.start(pending!, 10_000), 'started');
    cancel = await api.command(orderId, 'cancel');
    components.add(runSagaWorker(config, logger, components.signal));
    result = await temporal.workflow.getHandle(`checkout-${orderId}`).result();
  });

  after(async () => {
    await components.stopAll();
    await temporal?.connection.close();
    await db?.end();
  });

  it('the cancel wins: 202, the order CANCELLED', async () => {
    assert.equal(cancel.status, 202);
    assert.equal(cancel.body.status, 'CANCELLED');
    const { rows } = await db.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [orderId]);
    assert.equal(rows[0]?.status, 'CANCELLED');
  });

  it('the saga that started anyway takes no effect and ends CANCELLED, with nothing to undo', async () => {
    assert.equal(result.status, 'CANCELLED');
    assert.deepEqual(
      result.steps.map((s) => `${s.name}:${s.state}`),
      ['reserveStock:FAILED', 'chargePayment:SKIPPED', 'shipOrder:SKIPPED'],
    );
    assert.deepEqual(await stockOf(db, sku), { available: 5, reserved: 0, shipped: 0 });
  });

  it('the order has one terminal event: the cancel’s', async () => {
    assert.deepEqual(await outboxSubjects(db, orderId), ['checkout.order.placed', 'checkout.order.cancelled']);
  });
});

/** The queued start of one order, as a starter claims it (the claim's lock ends with its transaction). */
async function claimDueStartsOf(db: Db, orderId: string) {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const claimed = (await claimDueStarts(client, 100)).filter((p) => p.order.orderId === orderId);
    await client.query('ROLLBACK');
    return claimed.map((p) => p.order);
  } finally {
    client.release();
  }
}

// Given the whole pipeline (API, starter, worker, relay, read model, notifications), an order's
// first step finds itself already undone: the saga fails for a reason that is no business failure.
describe('a saga failing unexpectedly ends its order FAILED with INTERNAL_ERROR, and says so', () => {
  const components = new RunningComponents();
  let config: Config;
  let db: Db;
  let temporal: Client;
  let orderId = '';
  let state: Record<string, unknown>;
  const readModel = `before-saga-read-model-${randomUUID().slice(0, 8)}`;
  const notifications = `before-saga-notifications-${randomUUID().slice(0, 8)}`;

  before(async () => {
    config = testConfig({ API_TOKENS: TOKEN, PORT: '0' });
    db = await testDb(config);
    temporal = await createTemporalClient(config.temporal);
    const logger = testLogger('before-the-saga-unexpected');
    const since = new Date(Date.now() - 1_000);
    const running = startApi(config, logger, components.signal, { sagaStarter: false });
    components.add(running.running, runRelay(config, logger, components.signal));
    components.add(runReadModel(config, logger, components.signal, { name: readModel, deliverFrom: since }));
    components.add(runNotifications(config, logger, components.signal, { name: notifications, deliverFrom: since }));
    const api = checkoutClient(await running.base, TOKEN);
    ({ orderId } = await api.place({ customerId: 'cust-unexpected' }));
    // The forced fault: a release tombstone, as if a compensation had already run for this order.
    await db.query(
      `INSERT INTO stock_reservations (order_id, status, items, created_at, updated_at) VALUES ($1, 'RELEASED', '{"lines": []}', now(), now())`,
      [orderId],
    );
    components.add(runSagaStarter(config, logger, components.signal), runSagaWorker(config, logger, components.signal));
    state = await eventually(
      async () => {
        const { body } = await api.get(orderId);
        return body.status === 'FAILED' ? body : undefined;
      },
      60_000,
      'the order to end',
    );
  });

  after(async () => {
    await components.stopAll();
    await temporal?.connection.close();
    await db?.end();
  });

  it('ends the order FAILED with failureReason INTERNAL_ERROR', async () => {
    assert.equal(state.failureReason, 'INTERNAL_ERROR');
    const { rows } = await db.query<{ status: string; failure_reason: string }>(
      'SELECT status, failure_reason FROM orders WHERE id = $1',
      [orderId],
    );
    assert.deepEqual(rows[0], { status: 'FAILED', failure_reason: 'INTERNAL_ERROR' });
  });

  it('publishes checkout.order.failed v2 only: v1 cannot carry INTERNAL_ERROR', async () => {
    const { rows } = await db.query<{ subject: string; version: number; reason: string }>(
      `SELECT subject, (envelope->>'dataversion')::int AS version, envelope->'data'->>'failureReason' AS reason
       FROM outbox WHERE partition_key = $1 AND subject = 'checkout.order.failed'`,
      [orderId],
    );
    assert.deepEqual(rows, [{ subject: 'checkout.order.failed', version: 2, reason: 'INTERNAL_ERROR' }]);
  });

  it('fails the workflow execution, so an operator sees it', async () => {
    const description = await temporal.workflow.getHandle(`checkout-${orderId}`).describe();
    assert.equal(description.status.name, 'FAILED');
  });

  it('the read model shows it FAILED with INTERNAL_ERROR', async () => {
    const row = await eventually(
      async () => {
        const { rows } = await db.query<{ status: string; failure_reason: string }>(
          'SELECT status, failure_reason FROM read_orders WHERE order_id = $1',
          [orderId],
        );
        return rows[0]?.status === 'FAILED' ? rows[0] : undefined;
      },
      30_000,
      'the read model to show the failure',
    );
    assert.equal(row.failure_reason, 'INTERNAL_ERROR');
  });

  it('the customer is notified once that the order failed', async () => {
    const rows = await eventually(
      async () => {
        const { rows } = await db.query<{ kind: string; message: string }>(
          'SELECT kind, message FROM notifications WHERE order_id = $1',
          [orderId],
        );
        return rows.length > 0 ? rows : undefined;
      },
      30_000,
      'the notification',
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.kind, 'ORDER_FAILED');
    assert.match(rows[0]!.message, /not been charged/);
  });
});
