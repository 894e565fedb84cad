import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { checkoutRequest, startApi } from '../support/api';
import { RunningComponents } from '../support/components';
import { freePort } from '../support/ports';
import { stopProcess, TestProcesses, type TestProcess } from '../support/processes';
import { eventually, outboxSubjects, testConfig, testDb, testLogger } from '../support/services';

const TOKEN = 'crash-token-0123456789abcdef';

// Given a saga waiting for 3-D Secure and one whose flaky charge is being attempted, the only
// saga worker is SIGKILLed; a new one (exporting metrics) is started and the waiting saga confirmed.
describe('saga worker killed mid-saga (real Temporal dev server)', () => {
  let config: Config;
  let db: Db;
  let base = '';
  const components = new RunningComponents();
  const processes = new TestProcesses();
  const workers: TestProcess[] = [];
  let waiting = '';
  let flaky = '';
  let statusWithNoWorker = '';
  let confirmStatus = 0;
  let metricsAddress = '';

  const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
  async function place(method: string): Promise<string> {
    const res = await fetch(`${base}/checkouts`, {
      method: 'POST',
      headers: { ...headers, 'Idempotency-Key': randomUUID() },
      body: JSON.stringify(checkoutRequest({ customerId: 'cust-crash', sku: 'SKU-003', method })),
    });
    assert.equal(res.status, 202);
    return ((await res.json()) as { orderId: string }).orderId;
  }
  async function statusOf(orderId: string): Promise<string> {
    const res = await fetch(`${base}/checkouts/${orderId}`, { headers });
    return ((await res.json()) as { status: string }).status;
  }
  /** The saga worker as its own process, so the test can SIGKILL it. */
  const startWorker = (env: Record<string, string> = {}) => {
    const worker = processes.start('saga-worker', 'workers/saga-worker.ts', {
      env: {
        DATABASE_URL: config.database.url,
        TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
        LOG_LEVEL: 'warn',
        ...env,
      },
    });
    workers.push(worker);
    return worker;
  };

  before(async () => {
    config = testConfig({ API_TOKENS: TOKEN, PORT: '0' });
    db = await testDb(config);
    const api = startApi(config, testLogger('worker-crash'), components.signal);
    components.add(api.running);
    base = await api.base;

    const first = startWorker();
    waiting = await place('pm_card_3ds');
    flaky = await place('pm_card_flaky');
    await eventually(
      async () => ((await statusOf(waiting)) === 'AWAITING_PAYMENT_CONFIRMATION' ? true : undefined),
      60_000,
      '3-D Secure wait',
    );
    // The flaky charge is between attempts (or in one) when the worker dies.
    await eventually(
      async () => {
        const { rows } = await db.query<{ attempts: number }>(
          'SELECT attempts FROM sim_provider_charges WHERE idempotency_key = $1',
          [`order:${flaky}:charge`],
        );
        return (rows[0]?.attempts ?? 0) >= 1 ? true : undefined;
      },
      60_000,
      'the flaky charge to be attempted',
    );
    await stopProcess(first, 'SIGKILL');
    // No worker can answer the query now: the API still answers, with the saga's live status.
    statusWithNoWorker = await statusOf(waiting);

    metricsAddress = `127.0.0.1:${await freePort()}`;
    // Kept running: the metrics test reads it, then the last test stops it.
    startWorker({ WORKER_METRICS_ADDRESS: metricsAddress });
    const retryKey = randomUUID();
    const confirm = await eventually(
      async () => {
        const res = await fetch(`${base}/checkouts/${waiting}/payment-confirmation`, {
          method: 'POST',
          headers: { ...headers, 'Idempotency-Key': retryKey },
          body: JSON.stringify({ approved: true }),
        });
        // 503 until the new worker is polling; the retry with the same key joins the first attempt.
        return res.status === 503 ? undefined : res;
      },
      60_000,
      'the new worker to accept the confirmation',
    );
    confirmStatus = confirm.status;
    for (const orderId of [waiting, flaky]) {
      await eventually(
        async () => ((await statusOf(orderId)) === 'COMPLETED' ? true : undefined),
        90_000,
        `order ${orderId} to complete`,
      );
    }
  });
  after(async () => {
    await processes.killAll();
    await components.stopAll();
    await db?.end();
  });

  it('GET answers with the saga’s live status while no worker runs', () => {
    assert.equal(statusWithNoWorker, 'AWAITING_PAYMENT_CONFIRMATION');
  });

  it('the new worker takes the payment confirmation', () => {
    assert.equal(confirmStatus, 202);
  });

  it('a new worker finishes each saga with one charge at the provider and one payment', async () => {
    for (const orderId of [waiting, flaky]) {
      const charges = await db.query<{ status: string }>(
        'SELECT status FROM sim_provider_charges WHERE idempotency_key = $1',
        [`order:${orderId}:charge`],
      );
      assert.deepEqual(charges.rows, [{ status: 'CHARGED' }], 'one charge at the provider');
      const payments = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM payments WHERE order_id = $1 AND status = 'CHARGED'",
        [orderId],
      );
      assert.equal(payments.rows[0]?.n, 1);
    }
  });

  it('a new worker finishes each saga with one set of events', async () => {
    for (const orderId of [waiting, flaky]) {
      assert.deepEqual(await outboxSubjects(db, orderId), [
        'checkout.order.placed',
        'inventory.stock.reserved',
        'payments.payment.charged',
        'shipping.shipment.created',
        'checkout.order.completed',
      ]);
    }
  });

  it('the new worker exports the SDK’s metrics and the saga’s own, with Prometheus names', async () => {
    const metrics = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    assert.match(metrics, /^checkout_sagas_finished_total\{[^}]*status="COMPLETED"[^}]*\} [1-9]/m);
    assert.match(metrics, /^temporal_activity_execution_latency_seconds_bucket\{/m);
  });

  it('GET answers a finished saga in full, from the database, with no worker at all', async () => {
    for (const w of workers) await stopProcess(w, 'SIGTERM');
    const res = await fetch(`${base}/checkouts/${waiting}`, { headers });
    const state = (await res.json()) as { status: string; steps: { name: string; state: string }[] };
    assert.equal(state.status, 'COMPLETED');
    assert.deepEqual(
      state.steps.map((s) => `${s.name}:${s.state}`),
      ['reserveStock:COMPLETED', 'chargePayment:COMPLETED', 'shipOrder:COMPLETED'],
    );
  });
});
