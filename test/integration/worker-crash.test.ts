import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { repoRoot, type Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { startApi } from '../support/api';
import { freePort } from '../support/ports';
import { eventually, outboxSubjects, testConfig, testDb, testLogger } from '../support/services';

const TOKEN = 'crash-token-0123456789abcdef';

/** The saga worker as its own process, so the test can SIGKILL it. */
function startWorker(config: Config, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'workers/saga-worker.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      DATABASE_URL: config.database.url,
      TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

describe('saga worker killed mid-saga (real Temporal dev server)', () => {
  let config: Config;
  let db: Db;
  let base = '';
  const stop = new AbortController();
  const running: Promise<void>[] = [];
  const workers: ChildProcess[] = [];

  before(async () => {
    config = testConfig({ API_TOKENS: TOKEN, PORT: '0' });
    db = await testDb(config);
    const api = startApi(config, testLogger('worker-crash'), stop.signal);
    running.push(api.running);
    base = await api.base;
  });
  after(async () => {
    for (const w of workers) await kill(w, 'SIGKILL');
    stop.abort();
    await Promise.allSettled(running);
    await db?.end();
  });

  const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
  async function place(method: string): Promise<string> {
    const res = await fetch(`${base}/checkouts`, {
      method: 'POST',
      headers: { ...headers, 'Idempotency-Key': randomUUID() },
      body: JSON.stringify({
        customerId: 'cust-crash',
        items: [{ sku: 'SKU-003', quantity: 1 }],
        payment: { method },
        shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
      }),
    });
    assert.equal(res.status, 202);
    return ((await res.json()) as { orderId: string }).orderId;
  }
  async function statusOf(orderId: string): Promise<string> {
    const res = await fetch(`${base}/checkouts/${orderId}`, { headers });
    return ((await res.json()) as { status: string }).status;
  }

  it('a new worker finishes every saga once (one charge, one set of events); GET answers with no worker running', async () => {
    workers.push(startWorker(config));
    const waiting = await place('pm_card_3ds');
    const flaky = await place('pm_card_flaky');
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
    const first = workers[0];
    assert.ok(first);
    await kill(first, 'SIGKILL');
    // No worker can answer the query now: the API still answers, with the saga's live status.
    assert.equal(await statusOf(waiting), 'AWAITING_PAYMENT_CONFIRMATION');

    const metricsAddress = `127.0.0.1:${await freePort()}`;
    workers.push(startWorker(config, { WORKER_METRICS_ADDRESS: metricsAddress }));
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
    assert.equal(confirm.status, 202);

    for (const orderId of [waiting, flaky]) {
      await eventually(
        async () => ((await statusOf(orderId)) === 'COMPLETED' ? true : undefined),
        90_000,
        `order ${orderId} to complete`,
      );
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
      assert.deepEqual(await outboxSubjects(db, orderId), [
        'checkout.order.placed',
        'inventory.stock.reserved',
        'payments.payment.charged',
        'shipping.shipment.created',
        'checkout.order.completed',
      ]);
    }

    // The new worker exports the SDK's metrics and the saga's own, with Prometheus names.
    const metrics = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    assert.match(metrics, /^checkout_sagas_finished_total\{[^}]*status="COMPLETED"[^}]*\} [1-9]/m);
    assert.match(metrics, /^temporal_activity_execution_latency_seconds_bucket\{/m);

    // With no worker at all, finished sagas are still answered in full (from the database).
    for (const w of workers) await kill(w, 'SIGTERM');
    const res = await fetch(`${base}/checkouts/${waiting}`, { headers });
    const state = (await res.json()) as { status: string; steps: { name: string; state: string }[] };
    assert.equal(state.status, 'COMPLETED');
    assert.deepEqual(
      state.steps.map((s) => `${s.name}:${s.state}`),
      ['reserveStock:COMPLETED', 'chargePayment:COMPLETED', 'shipOrder:COMPLETED'],
    );
  });
});
