import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { SUBSCRIBERS } from '../../subscribers/index';
import { checkoutClient } from '../support/checkouts';
import { freePort } from '../support/ports';
import { TestProcesses } from '../support/processes';
import { scrape, sumOf, type Sample } from '../support/prometheus';
import { queriedMetrics } from '../support/promql';
import { eventually, freshSku, testConfig, testDb } from '../support/services';

const TOKEN = 'deploy-metrics-token-0123456789';

// Every process `npm start` runs, started as it starts them (its entry point, METRICS_ADDRESS), on
// this suite's database and task queue. One checkout completes; one fails shipping (to AQ) and
// compensates, its stock release held up by a row lock the test keeps for longer than
// COMPENSATION_ALERT_AFTER (1s), so the metrics of a stuck compensation are exported too. Then every metric a rule or a dashboard panel queries must be
// in some process's scrape: a renamed metric, or a typo in a panel, fails here.
describe('the metrics the rules and dashboards query, against a real scrape of every process', () => {
  let config: Config;
  let db: Db;
  const processes = new TestProcesses();
  const endpoints = new Map<string, string>();
  let base = '';
  let scraped = new Map<string, Sample[]>();

  before(async () => {
    config = testConfig({ API_TOKENS: TOKEN });
    db = await testDb(config);
    const env = {
      DATABASE_URL: config.database.url,
      TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
      API_TOKENS: TOKEN,
      COMPENSATION_ALERT_AFTER: '1s',
      READ_MODEL_CONSUMER: `deploy-metrics-${randomUUID().slice(0, 8)}`,
      READ_MODEL_DELIVER_FROM: new Date().toISOString(),
      LOG_LEVEL: 'warn',
    };
    const apiPort = await freePort();
    base = `http://127.0.0.1:${apiPort}`;
    endpoints.set('api', `${base}/metrics`);
    processes.start('api', 'api/server.ts', { env: { ...env, PORT: String(apiPort) } });
    const others: [string, string, string[]][] = [
      ['saga-worker', 'workers/saga-worker.ts', []],
      ['outbox-relay', 'workers/relay.ts', []],
      ...SUBSCRIBERS.map((s): [string, string, string[]] => [s.name, 'workers/subscriber-host.ts', [s.name]]),
      ['saga-starter', 'workers/saga-starter.ts', []],
    ];
    for (const [name, file, args] of others) {
      const port = await freePort();
      endpoints.set(name, `http://127.0.0.1:${port}/metrics`);
      processes.start(name, file, { args, env: { ...env, METRICS_ADDRESS: `127.0.0.1:${port}` } });
    }
    await eventually(
      async () => ((await fetch(`${base}/readyz`).catch(() => undefined))?.ok ? true : undefined),
      60_000,
      'the API to be ready',
    );

    const api = checkoutClient(base, TOKEN);
    const completed = await api.place({ customerId: 'cust-metrics' });
    assert.equal(completed.status, 202);
    await reaches(api, completed.orderId, 'COMPLETED');
    await stuckCompensation(api, db);
    // The saga's metrics reach the worker's exporter after the activation that recorded them.
    scraped = await eventually(
      async () => {
        const all = await scrapeAll(endpoints);
        const worker = all.get('saga-worker') ?? [];
        return (sumOf(worker, 'checkout_sagas_finished_total') ?? 0) >= 2 &&
          sumOf(worker, 'checkout_compensations_stuck_total') !== undefined
          ? all
          : undefined;
      },
      30_000,
      'both sagas counted and the compensation alarm raised',
    );
  });
  after(async () => {
    await processes.killAll();
    await db?.end();
  });

  it('scrapes every process npm start runs', () => {
    assert.deepEqual(
      [...scraped].filter(([, samples]) => samples.length === 0).map(([name]) => name),
      [],
      'processes with an empty scrape',
    );
  });

  it('answers the liveness probe of the Helm chart on each worker’s metrics port but the saga worker’s', async () => {
    for (const [name, url] of endpoints) {
      if (name === 'api' || name === 'saga-worker') continue;
      const res = await fetch(url.replace(/\/metrics$/, '/healthz'));
      assert.equal(res.status, 200, name);
      assert.equal(await res.text(), 'ok\n');
    }
  });

  it('finds every metric a rule or a dashboard queries in some process’s scrape', () => {
    const exported = new Set([...scraped.values()].flatMap((samples) => samples.map((s) => s.name)));
    const missing = [...queriedMetrics()].filter(([name]) => !exported.has(name));
    assert.deepEqual(
      missing.map(([name, where]) => `${name} (${[...new Set(where)].join(', ')})`),
      [],
      'queried but exported by no process',
    );
  });

  it('finds the Temporal SDK’s metrics in the saga worker’s scrape', () => {
    const temporal = [...queriedMetrics().keys()].filter((n) => n.startsWith('temporal_'));
    assert.ok(temporal.length >= 8, temporal.join(' '));
    const worker = new Set((scraped.get('saga-worker') ?? []).map((s) => s.name));
    assert.deepEqual(
      temporal.filter((n) => !worker.has(n)),
      [],
    );
  });
});

/** One scrape of each endpoint (an unreachable one gives no samples). */
async function scrapeAll(endpoints: Map<string, string>): Promise<Map<string, Sample[]>> {
  const out = new Map<string, Sample[]>();
  for (const [name, url] of endpoints) out.set(name, await scrape(url).catch(() => []));
  return out;
}

type Api = ReturnType<typeof checkoutClient>;

async function reaches(api: Api, orderId: string, status: string): Promise<void> {
  await eventually(
    async () => ((await api.get(orderId)).body.status === status ? true : undefined),
    60_000,
    `order ${orderId} to be ${status}`,
  );
}

/**
 * An order that waits for its 3-D Secure answer (so its stock is reserved), then fails shipping to
 * AQ once approved; its stock release blocks on the product row this holds locked until the
 * worker has counted the compensation as stuck.
 */
async function stuckCompensation(api: Api, db: Db): Promise<void> {
  const sku = await freshSku(db, 5);
  const order = await api.place({ customerId: 'cust-metrics', sku, method: 'pm_card_3ds', country: 'AQ' });
  assert.equal(order.status, 202);
  await reaches(api, order.orderId, 'AWAITING_PAYMENT_CONFIRMATION');
  const lock = await db.connect();
  try {
    await lock.query('BEGIN');
    await lock.query('SELECT 1 FROM products WHERE sku = $1 FOR UPDATE', [sku]);
    assert.equal((await api.command(order.orderId, 'payment-confirmation', { body: { approved: true } })).status, 202);
    await eventually(
      async () => ((await api.get(order.orderId)).body.status === 'COMPENSATING' ? true : undefined),
      30_000,
      'the order to compensate',
    );
    await new Promise((resolve) => setTimeout(resolve, 2_500));
  } finally {
    await lock.query('ROLLBACK');
    lock.release();
  }
  await reaches(api, order.orderId, 'FAILED');
}
