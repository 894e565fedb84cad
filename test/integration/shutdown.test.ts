import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from 'nats';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { createTemporalClient } from '../../lib/temporal';
import { sleep } from '../../lib/wait';
import { connectTestNats } from '../support/nats';
import { freePort } from '../support/ports';
import { stopProcess, TestProcesses, type Exit } from '../support/processes';
import { eventually, freshSku, testConfig, testDb } from '../support/services';
import {
  accepted,
  allTerminal,
  apiUp,
  assertDrained,
  GRACE,
  GRACE_MS,
  PipelineUnderLoad,
  placeOrder,
  shipped,
  statusCounts,
  terminate,
  TOKEN,
  type Attempt,
  type Outcome,
  type Stopped,
} from './shutdown-load';

/**
 * SIGTERM under load, against real child processes: the API finishes what it accepted and only
 * refuses what came after it closed; the worker, the relay and the read model drain, exit 0 and
 * are replaced without losing an order, an outbox row or an event.
 */

/** Fails the suite, with what to run, when a service of the stack is not reachable: never a skip. */
async function requireStack(config: Config): Promise<{ db: Db; nc: NatsConnection }> {
  const db = await testDb(config);
  const nc = await connectTestNats(config, 'shutdown-test');
  try {
    const temporal = await createTemporalClient(config.temporal);
    await temporal.connection.workflowService.getSystemInfo({});
    await temporal.connection.close();
  } catch (err) {
    throw new Error(
      `Temporal is not reachable at ${config.temporal.address} (${(err as Error).message}); run \`npm run stack:up\` first`,
    );
  }
  return { db, nc };
}

describe('graceful shutdown under load (real child processes on the real stack)', () => {
  let db: Db;
  let nc: NatsConnection;
  let skus: string[] = [];
  const processes = new TestProcesses();

  before(async () => {
    ({ db, nc } = await requireStack(testConfig()));
    // SKUs of this run with ample stock, so every saga can complete and shipped counts are exact.
    skus = await Promise.all(Array.from({ length: 10 }, () => freshSku(db, 1_000_000, 990)));
  });

  after(async () => {
    await processes.killAll();
    await nc?.drain();
    await db?.end();
  });

  /** The configuration of one test's processes, and the environment variables that give it to them. */
  async function env(extra: Record<string, string> = {}): Promise<{ config: Config; env: Record<string, string> }> {
    const config = testConfig({
      API_TOKENS: TOKEN,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SHUTDOWN_GRACE_PERIOD: GRACE,
      ...extra,
    });
    return {
      config,
      env: {
        ...extra,
        DATABASE_URL: config.database.url,
        TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
        API_TOKENS: TOKEN,
        PORT: String(config.http.port),
        HOST: config.http.host,
        LOG_LEVEL: config.logLevel,
        SHUTDOWN_GRACE_PERIOD: config.shutdown.gracePeriod,
      },
    };
  }

  describe('the API, SIGTERMed while 20 clients place orders', () => {
    const attempts: Attempt[] = [];
    let sigtermAt = 0;
    let apiExit: Exit;
    let apiExitMs = 0;
    let apiOutput = '';
    let worker: Stopped;
    let starter: Stopped;
    const outcomes = (kind: Outcome['kind']) => attempts.filter((a) => a.outcome.kind === kind);

    before(async () => {
      const { config, env: childEnv } = await env();
      const base = `http://127.0.0.1:${config.http.port}`;
      const sagaWorker = processes.start('saga-worker', 'workers/saga-worker.ts', { env: childEnv });
      const sagaStarter = processes.start('saga-starter', 'workers/saga-starter.ts', { env: childEnv });
      const api = processes.start('api', 'api/server.ts', { env: childEnv });
      await apiUp(base);

      // A keep-alive connection left idle: the drain must close it, not wait out its keep-alive.
      const idleAgent = new Agent({ keepAlive: true });
      await new Promise<void>((resolve, reject) => {
        httpRequest(`${base}/healthz`, { agent: idleAgent }, (res) => res.resume().on('end', resolve))
          .on('error', reject)
          .end();
      });

      let apiGone = false;
      const loops = Array.from({ length: 20 }, async (_, i) => {
        // Each loop stops at its first refusal: from then on the API is not listening.
        while (!apiGone) {
          const a = await placeOrder(base, skus[i % skus.length]!);
          attempts.push(a);
          if (a.outcome.kind === 'refused' || a.outcome.kind === 'cut') return;
        }
      });
      await eventually(async () => (accepted(attempts).length >= 40 ? true : undefined), 30_000, 'load to flow');

      sigtermAt = Date.now();
      apiExit = await stopProcess(api, 'SIGTERM', GRACE_MS + 10_000);
      apiExitMs = Date.now() - sigtermAt;
      apiOutput = api.lines.join('\n');
      apiGone = true;
      await Promise.all(loops);
      idleAgent.destroy();

      await allTerminal(db, accepted(attempts), 90_000);
      starter = await terminate(sagaStarter);
      worker = await terminate(sagaWorker);
    });

    it('exits 0 promptly, closing an idle keep-alive connection', () => {
      assert.notEqual(apiExit.signal, 'SIGKILL', 'the API exits after SIGTERM');
      assert.deepEqual(apiExit, { code: 0, signal: null }, `the API exits 0; last output:\n${apiOutput}`);
      // Its keep-alive timeout is 5 s: an idle connection that was not closed would hold it that long.
      assert.ok(apiExitMs < 4_500, `the API drained promptly (${apiExitMs} ms), idle keep-alive connection included`);
    });

    it('answers every request it received: none is cut, each is a 202 (a 503 only if sent after SIGTERM)', () => {
      assert.deepEqual(outcomes('cut'), [], 'no request was cut after it was sent');
      const otherStatus = outcomes('status').filter(
        (a) => !(a.outcome.kind === 'status' && a.outcome.status === 503 && a.startedAt >= sigtermAt),
      );
      assert.deepEqual(otherStatus, [], 'every answer is a 202 (a 503 only for requests sent after SIGTERM)');
    });

    it('finishes the requests in flight at SIGTERM with a 202', () => {
      const inFlight = outcomes('accepted').filter((a) => a.startedAt < sigtermAt && a.endedAt > sigtermAt);
      assert.ok(inFlight.length > 0, 'requests in flight at SIGTERM were answered 202');
    });

    it('refuses connections once closed, and none before SIGTERM', () => {
      const refused = outcomes('refused');
      assert.ok(refused.length > 0, 'requests after the close were refused (the load really outlived the API)');
      assert.ok(
        refused.every((a) => a.endedAt >= sigtermAt),
        'nothing was refused before SIGTERM',
      );
    });

    // Requests that reached an open keep-alive connection after SIGTERM are served too; answers
    // sent while draining tell the client not to reuse the connection.
    it('tells clients, while draining, not to reuse their connection', () => {
      assert.ok(
        attempts.some((a) => a.endedAt > sigtermAt && a.connection === 'close'),
        'answers sent while draining say Connection: close',
      );
    });

    it('processed no refused request, and stored every order it answered 202', async () => {
      // A refused request never reached the service; every 202 is a stored order with its key.
      const { rows: refusedKeys } = await db.query('SELECT key FROM idempotency_keys WHERE key = ANY($1)', [
        outcomes('refused').map((a) => a.key),
      ]);
      assert.deepEqual(refusedKeys, [], 'no refused request was processed');
      const orderIds = accepted(attempts);
      const { rows: stored } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[])',
        [orderIds],
      );
      assert.equal(stored[0]?.n, orderIds.length, 'every 202 order is in the database');
    });

    it('every accepted order completes', async (t) => {
      const orderIds = accepted(attempts);
      const counts = await statusCounts(db, orderIds);
      assert.deepEqual([...counts], [['COMPLETED', orderIds.length]], 'every accepted order completes');
      const inFlight = outcomes('accepted').filter((a) => a.startedAt < sigtermAt && a.endedAt > sigtermAt);
      const lateAccepted = outcomes('accepted').filter((a) => a.startedAt > sigtermAt);
      t.diagnostic(
        `api: ${orderIds.length} accepted (${inFlight.length} in flight at SIGTERM, ${lateAccepted.length} sent after it on open connections), ` +
          `${outcomes('refused').length} refused; API exited in ${apiExitMs} ms, worker in ${worker.tookMs} ms`,
      );
    });

    it('the saga worker then drains and exits 0 within its grace period', () => {
      assertDrained(worker);
    });

    it('the saga starter then drains and exits 0 within its grace period', () => {
      assertDrained(starter);
    });
  });

  describe('worker, relay and read model, each SIGTERMed mid-stream and restarted while orders flow', () => {
    const consumer = `shutdown-read-model-${randomUUID().slice(0, 8)}`;
    let pipeline: PipelineUnderLoad;
    let relayLag = 0;
    let openAtWorkerStop = 0;
    let shippedBefore = 0;
    const ids = () => pipeline.orderIds();

    before(async () => {
      const { config, env: childEnv } = await env({
        READ_MODEL_CONSUMER: consumer,
        READ_MODEL_DELIVER_FROM: new Date(Date.now() - 2_000).toISOString(),
        RELAY_BATCH_SIZE: '5',
      });
      const base = `http://127.0.0.1:${config.http.port}`;
      pipeline = new PipelineUnderLoad({ db, processes, env: childEnv, base, consumer, skus });
      await pipeline.start();
      shippedBefore = await shipped(db, skus);
      pipeline.produce();
      await pipeline.advances('terminal', 10, 'the first sagas to finish');
      await pipeline.advances('projected', 10, 'the read model to apply events');

      // Relay: finishes the batch in flight, marks what was acked, releases its partitions, exits.
      // Small batches, so the backlog takes many of them and the SIGTERM lands between two.
      relayLag = await pipeline.restartTwice('relay', 'published', async () => (await pipeline.backlog()).unpublished);
      // Read model: stops pulling, finishes the handlers in flight and the messages it already
      // received, drains; the next one resumes the durable consumer.
      await pipeline.restartTwice('readModel', 'projected', async () => (await pipeline.backlog()).unprojected);
      // Saga starter: finishes the batch in flight (start, record, commit) and exits; orders
      // committed meanwhile wait in its queue, and the next one starts them.
      await pipeline.stop('starter', (ms) => `starter ${ms} ms`);
      await sleep(2_000);
      pipeline.restart('starter');
      await pipeline.advances('terminal', 5, 'the sagas of orders queued while no starter ran to finish');
      // Worker: Worker.shutdown lets in-flight workflow tasks and activities finish.
      openAtWorkerStop = await pipeline.openSagas();
      await pipeline.stop('worker', (ms) => `worker ${ms} ms (${openAtWorkerStop} sagas open at SIGTERM)`);
      // The backlog stays bounded: no new orders while the next worker starts (bundling takes seconds).
      await pipeline.stopProducing();
      pipeline.restart('worker');

      const orderIds = ids();
      await allTerminal(db, orderIds, 90_000);
      // Every outbox row of these orders reaches JetStream and is marked published.
      await eventually(
        async () => ((await unpublishedOf(orderIds)) === 0 ? true : undefined),
        60_000,
        'every outbox row to be published',
      );
      await eventually(
        async () => ((await shownWithFinalStatus(orderIds)) === orderIds.length ? true : undefined),
        // A message in flight to a stopped subscriber comes back after the 30 s ack wait.
        60_000,
        'the read model to show every order with its final status',
      );
      await pipeline.stopAll();
    });
    after(async () => {
      const jsm = await nc.jetstreamManager();
      await jsm.consumers.delete('CHECKOUT', consumer).catch(() => undefined);
    });

    const unpublishedOf = async (orderIds: string[]) => {
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM outbox WHERE partition_key = ANY($1) AND published_at IS NULL',
        [orderIds],
      );
      return rows[0]?.n;
    };
    const shownWithFinalStatus = async (orderIds: string[]) => {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM read_orders r JOIN orders o ON o.id = r.order_id
         WHERE r.order_id = ANY($1::uuid[]) AND r.status = o.status`,
        [orderIds],
      );
      return rows[0]?.n;
    };

    it('each process SIGTERMed drains and exits 0 within its grace period', (t) => {
      for (const s of pipeline.stops) assertDrained(s);
      t.diagnostic(`pipeline: ${ids().length} orders; SIGTERM to exit: ${pipeline.timings.join(', ')}`);
    });

    it('stops the second relay with rows still to publish, and the worker with sagas in flight', () => {
      assert.ok(relayLag > 0, 'the second relay was stopped with rows still to publish');
      assert.ok(openAtWorkerStop > 0, 'sagas are in flight when the worker is stopped');
    });

    it('accepts every order placed meanwhile, and completes each of them', async () => {
      assert.deepEqual(
        pipeline.attempts.filter((a) => a.outcome.kind !== 'accepted'),
        [],
        'every order was accepted',
      );
      const counts = await statusCounts(db, ids());
      assert.deepEqual([...counts], [['COMPLETED', ids().length]], 'every order completed');
    });

    it('runs no saga step twice and loses none across the worker restart', async () => {
      const orderIds = ids();
      assert.equal((await shipped(db, skus)) - shippedBefore, orderIds.length, 'one unit shipped per order');
      const { rows: charges } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM sim_provider_charges WHERE idempotency_key = ANY($1) AND status = 'CHARGED'`,
        [orderIds.map((id) => `order:${id}:charge`)],
      );
      assert.equal(charges[0]?.n, orderIds.length, 'one charge per order');
    });

    it('publishes every outbox row of these orders', async () => {
      assert.equal(await unpublishedOf(ids()), 0);
    });

    // The read model has each order once, with its final status, and applied each of its events
    // exactly once (a redelivery after a restart is a duplicate, not a second effect).
    it('the read model shows every order with its final status, each event applied once, nothing parked', async () => {
      const orderIds = ids();
      const { rows: expected } = await db.query<{ event_id: string }>(
        `SELECT event_id FROM outbox WHERE partition_key = ANY($1) AND subject LIKE 'checkout.order.%'`,
        [orderIds],
      );
      assert.equal(expected.length, orderIds.length * 2, 'placed + completed per order');
      assert.equal(await shownWithFinalStatus(orderIds), orderIds.length);
      const { rows: applied } = await db.query<{ event_id: string }>(
        'SELECT event_id FROM processed_events WHERE consumer = $1 AND event_id = ANY($2::uuid[])',
        [consumer, expected.map((e) => e.event_id)],
      );
      assert.equal(applied.length, expected.length, 'every checkout.order.* event applied once');
      const { rows: parked } = await db.query<{ n: number }>(
        // Only these orders: the consumer starts 2 s back, so it may see the last events of orders
        // another file placed earlier (a completed whose placed came before that window parks).
        'SELECT count(*)::int AS n FROM parked_events WHERE consumer = $1 AND order_id = ANY($2)',
        [consumer, orderIds],
      );
      assert.equal(parked[0]?.n, 0, 'nothing left parked');
    });
  });

  describe('a drain that cannot finish', () => {
    let byGrace: Exit;
    let bySignal: Exit;
    let graceOutput: string[] = [];
    let signalOutput: string[] = [];
    let tookMs = 0;

    before(async () => {
      // A "Postgres" that accepts connections and never answers: the relay's connect hangs, so its
      // drain cannot finish on its own.
      const hung = new Set<Socket>();
      const blackhole = createServer((socket) => {
        hung.add(socket);
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
      const address = blackhole.address();
      assert.ok(address && typeof address !== 'string');
      try {
        const relayEnv = async (grace: string) => ({
          env: {
            ...(await env()).env,
            DATABASE_URL: `postgres://checkout:checkout@127.0.0.1:${address.port}/blackhole`,
            SHUTDOWN_GRACE_PERIOD: grace,
          },
        });
        const expiring = processes.start('relay-grace', 'workers/relay.ts', await relayEnv('2s'));
        const escalated = processes.start('relay-second-signal', 'workers/relay.ts', await relayEnv('30s'));
        await eventually(async () => (hung.size >= 2 ? true : undefined), 30_000, 'both relays to be stuck connecting');

        const t0 = Date.now();
        expiring.proc.kill('SIGTERM');
        escalated.proc.kill('SIGTERM');
        await sleep(1_500);
        // After the echo window, so this is a second request, not the first one arriving twice.
        escalated.proc.kill('SIGINT');
        [byGrace, bySignal] = await Promise.all([expiring.exited, escalated.exited]);
        tookMs = Date.now() - t0;
        graceOutput = expiring.lines;
        signalOutput = escalated.lines;
      } finally {
        for (const socket of hung) socket.destroy();
        await new Promise<void>((resolve) => blackhole.close(() => resolve()));
      }
    });

    it('a second signal forces the exit at once, with 128 + SIGINT and a log line', () => {
      assert.deepEqual(bySignal, { code: 130, signal: null }, 'a second signal exits at once with 128 + SIGINT');
      assert.ok(
        signalOutput.some((l) => /second SIGINT while draining: forcing exit/.test(l)),
        signalOutput.join('\n'),
      );
    });

    it('an expired grace period forces the exit with status 1 and a log line', () => {
      assert.deepEqual(byGrace, { code: 1, signal: null }, 'an expired grace period exits 1');
      assert.ok(
        graceOutput.some((l) => /grace period expired before the drain finished: forcing exit/.test(l)),
        graceOutput.join('\n'),
      );
    });

    it('forces both out promptly', () => {
      assert.ok(tookMs < 8_000, `both forced out promptly (${tookMs} ms)`);
    });
  });
});
