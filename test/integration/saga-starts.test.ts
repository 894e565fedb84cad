import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { createTemporalClient } from '../../lib/temporal';
import { stackDown, stackUp } from '../../scripts/stack/index';
import { runSagaStarter } from '../../workers/saga-starter';
import { runSagaWorker } from '../../workers/saga-worker';
import { checkoutRequest, startApi } from '../support/api';
import { allReach, chargesOf, checkoutClient, oneRunEach, queuedStarts, sagaExists } from '../support/checkouts';
import { RunningComponents } from '../support/components';
import { freePort } from '../support/ports';
import { TestProcesses, type Exit, type TestProcess } from '../support/processes';
import { eventually, testConfig, testDb, testLogger } from '../support/services';

const TOKEN = 'starts-token-0123456789abcdef';
const quiet = () => undefined;

/** The environment of a child process of these tests: the test database and task queue. */
const childEnv = (config: Config, extra: Record<string, string> = {}) => ({
  DATABASE_URL: config.database.url,
  TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
  API_TOKENS: TOKEN,
  LOG_LEVEL: 'info',
  ...extra,
});

// Given the API and its saga starter, the stack's Temporal dev server is stopped; 20 checkouts
// are posted; Temporal is started again, then a saga worker.
describe('Temporal down: checkouts are accepted, and their sagas start once it is back', () => {
  const components = new RunningComponents();
  let config: Config;
  let db: Db;
  let temporal: Client;
  let stoppedState: string | undefined;
  let answers: { status: number; orderId: string; ms: number }[] = [];
  let whileDown: { get: Record<string, unknown>; readyStatus: number; ready: Record<string, unknown> };
  let orderIds: string[] = [];

  before(async () => {
    config = testConfig({ API_TOKENS: TOKEN, PORT: '0' });
    db = await testDb(config);
    const logger = testLogger('saga-starts-outage');
    const api = startApi(config, logger, components.signal);
    components.add(api.running);
    const base = await api.base;
    const client = checkoutClient(base, TOKEN);
    // A first checkout warms the API up (connections, code paths), so what is timed is the outage.
    const warmUp = await client.place({ customerId: 'cust-outage', sku: 'SKU-004' });

    stoppedState = (await stackDown(config, { only: ['temporal'], say: quiet }))[0]?.state;
    answers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const started = performance.now();
        const answer = await client.place({ customerId: 'cust-outage', sku: 'SKU-004' });
        return { ...answer, ms: performance.now() - started };
      }),
    );
    orderIds = [warmUp.orderId, ...answers.map((a) => a.orderId)];
    const ready = await fetch(`${base}/readyz`);
    whileDown = {
      get: (await client.get(orderIds[1]!)).body,
      readyStatus: ready.status,
      ready: (await ready.json()) as Record<string, unknown>,
    };

    await stackUp(config, { only: ['temporal'], say: quiet });
    temporal = await createTemporalClient(config.temporal);
    components.add(runSagaWorker(config, logger, components.signal));
    await allReach(db, orderIds, 'COMPLETED', 120_000);
  });

  after(async () => {
    await components.stopAll();
    // Whatever happened, leave Temporal running for the next test file.
    await stackUp(config, { only: ['temporal'], say: quiet });
    await temporal?.connection.close();
    await db?.end();
  });

  it('really stopped the stack’s Temporal dev server', () => {
    assert.equal(
      stoppedState,
      'stopped',
      'this test restarts Temporal, so it needs the one `npm run stack:up` started',
    );
  });

  it('answers all 20 checkouts 202 within a second while Temporal is down', () => {
    assert.deepEqual(
      answers.map((a) => a.status),
      Array.from({ length: 20 }, () => 202),
    );
    const slowest = Math.max(...answers.map((a) => a.ms));
    assert.ok(slowest < 1_000, `each answered within a second (the slowest in ${Math.round(slowest)} ms)`);
  });

  it('shows a checkout PENDING, with no step taken, until its saga starts', () => {
    assert.equal(whileDown.get.status, 'PENDING');
    assert.deepEqual(whileDown.get.steps, []);
  });

  it('reports Temporal down in /readyz as degraded, not unready', () => {
    assert.equal(whileDown.readyStatus, 200);
    assert.equal(whileDown.ready.status, 'degraded');
    const checks = whileDown.ready.checks as Record<string, { status: string; required: boolean }>;
    assert.deepEqual(checks.temporal && [checks.temporal.status, checks.temporal.required], ['down', false]);
    assert.deepEqual(checks.postgres && [checks.postgres.status, checks.postgres.required], ['ok', true]);
  });

  it('completes each of them once Temporal is back: one saga run and one charge per order', async () => {
    await oneRunEach(temporal, orderIds);
    assert.deepEqual([...(await chargesOf(db, orderIds))], [['CHARGED', orderIds.length]]);
    assert.deepEqual(await queuedStarts(db, orderIds), [], 'every start recorded');
  });
});

// Given five queued checkouts and a saga starter armed to die right after Temporal accepts a
// start (before recording it), the starter runs and is SIGKILLed there; a new one is started.
describe('the saga starter SIGKILLed between starting a saga and recording it', () => {
  const components = new RunningComponents();
  const processes = new TestProcesses();
  let config: Config;
  let db: Db;
  let temporal: Client;
  let orderIds: string[] = [];
  let crashed: Exit;
  let afterCrash: { queued: string[]; withSaga: string[] };
  let restarted: TestProcess;

  before(async () => {
    config = testConfig({ API_TOKENS: TOKEN, PORT: '0' });
    db = await testDb(config);
    temporal = await createTemporalClient(config.temporal);
    const logger = testLogger('saga-starts-crash');
    // The API without its starter, so the orders wait in the queue for the armed one.
    const api = startApi(config, logger, components.signal, { sagaStarter: false });
    components.add(api.running);
    const client = checkoutClient(await api.base, TOKEN);
    orderIds = (
      await Promise.all(Array.from({ length: 5 }, () => client.place({ customerId: 'cust-starter-crash' })))
    ).map((a) => a.orderId);

    const armed = processes.start('saga-starter', 'workers/saga-starter.ts', {
      env: childEnv(config, { CRASH_POINTS: 'saga-starter.after-start' }),
    });
    crashed = await armed.exited;
    const withSaga: string[] = [];
    for (const id of orderIds) if (await sagaExists(temporal, id)) withSaga.push(id);
    afterCrash = { queued: await queuedStarts(db, orderIds), withSaga };

    restarted = processes.start('saga-starter', 'workers/saga-starter.ts', { env: childEnv(config) });
    components.add(runSagaWorker(config, logger, components.signal));
    await allReach(db, orderIds, 'COMPLETED', 90_000);
    await eventually(
      async () => ((await queuedStarts(db, orderIds)).length === 0 ? true : undefined),
      60_000,
      'the restarted starter to record every start',
    );
  });

  after(async () => {
    await components.stopAll();
    await processes.killAll();
    await temporal?.connection.close();
    await db?.end();
  });

  it('dies at the crash point, by SIGKILL', () => {
    assert.deepEqual(crashed, { code: null, signal: 'SIGKILL' });
  });

  it('leaves a started saga whose start is not recorded', () => {
    assert.ok(afterCrash.withSaga.length > 0, 'Temporal accepted at least one start before the kill');
    assert.deepEqual(afterCrash.queued.sort(), [...orderIds].sort(), 'no start was recorded: every row is queued');
  });

  it('after a restart, the new starter finds those sagas already started and records them', () => {
    const recorded = restarted.logs
      .filter((l) => l.msg === 'saga was already started; recording its start')
      .map((l) => String(l.orderId));
    assert.deepEqual(recorded.sort(), [...afterCrash.withSaga].sort());
  });

  it('every order has exactly one saga run, and completes with one charge', async () => {
    await oneRunEach(temporal, orderIds);
    assert.deepEqual([...(await chargesOf(db, orderIds))], [['CHARGED', 5]]);
    assert.deepEqual(await queuedStarts(db, orderIds), []);
  });
});

// Given an API process armed to die right after committing a checkout, a client posts one
// checkout and does not retry; a saga starter and a worker run beside it.
describe('the API SIGKILLed right after its commit, with no client retry', () => {
  const components = new RunningComponents();
  const processes = new TestProcesses();
  let config: Config;
  let db: Db;
  let temporal: Client;
  const customerId = `cust-api-crash-${randomUUID().slice(0, 8)}`;
  let clientSaw = '';
  let apiExit: Exit;
  let orderId = '';

  before(async () => {
    const port = await freePort();
    config = testConfig({ API_TOKENS: TOKEN, PORT: String(port) });
    db = await testDb(config);
    temporal = await createTemporalClient(config.temporal);
    const logger = testLogger('saga-starts-api-crash');
    components.add(runSagaStarter(config, logger, components.signal), runSagaWorker(config, logger, components.signal));
    const api = processes.start('api', 'api/server.ts', {
      env: childEnv(config, { PORT: String(port), CRASH_POINTS: 'api.after-commit' }),
    });
    await api.waitForLog((l) => l.msg === 'API listening', 60_000, 'the API to listen');
    clientSaw = await fetch(`http://127.0.0.1:${port}/checkouts`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': randomUUID(),
      },
      body: JSON.stringify(checkoutRequest({ customerId })),
    }).then(
      (res) => `HTTP ${res.status}`,
      (err: unknown) => `failed: ${String((err as Error).cause ?? err)}`,
    );
    apiExit = await api.exited;
    orderId = await eventually(
      async () =>
        (await db.query<{ id: string }>('SELECT id FROM orders WHERE customer_id = $1', [customerId])).rows[0]?.id,
      10_000,
      'the committed order',
    );
    await allReach(db, [orderId], 'COMPLETED', 60_000);
  });

  after(async () => {
    await components.stopAll();
    await processes.killAll();
    await temporal?.connection.close();
    await db?.end();
  });

  it('the client gets no answer: the API died after its commit', () => {
    assert.match(clientSaw, /^failed: /);
    assert.deepEqual(apiExit, { code: null, signal: 'SIGKILL' });
  });

  it('the committed order still gets its saga, which completes once, with one charge', async () => {
    await oneRunEach(temporal, [orderId]);
    assert.deepEqual([...(await chargesOf(db, [orderId]))], [['CHARGED', 1]]);
  });
});
