import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from 'nats';
import { durationToMs, type Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { createTemporalClient } from '../../lib/temporal';
import { sleep } from '../../lib/wait';
import { checkoutRequest } from '../support/api';
import { connectTestNats } from '../support/nats';
import { freePort } from '../support/ports';
import { stopProcess, TestProcesses, type Exit, type TestProcess } from '../support/processes';
import { eventually, freshSku, testConfig, testDb } from '../support/services';

/**
 * SIGTERM under load, against real child processes: the API finishes what it accepted and only
 * refuses what came after it closed; the worker, the relay and the read model drain, exit 0 and
 * are replaced without losing an order, an outbox row or an event.
 */

const TOKEN = 'shutdown-token-0123456789abcdef';
const GRACE = '15s';
const GRACE_MS = durationToMs(GRACE);
const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** How a child answered SIGTERM: its exit, how long it took, and whether it logged a forced exit. */
interface Stopped {
  name: string;
  exit: Exit;
  tookMs: number;
  forced: boolean;
  /** Its last lines, to show when it did not drain cleanly. */
  tail: string;
}

/** Sends SIGTERM and waits for the exit; a child still running well after its grace period is SIGKILLed. */
async function terminate(child: TestProcess): Promise<Stopped> {
  const sentAt = Date.now();
  const exit = await stopProcess(child, 'SIGTERM', GRACE_MS + 10_000);
  return {
    name: child.name,
    exit,
    tookMs: Date.now() - sentAt,
    forced: child.lines.some((l) => /forcing exit/.test(l)),
    tail: child.lines.slice(-10).join('\n'),
  };
}

/** A clean drain: exit code 0, within the grace period, and no forced exit logged. */
function assertDrained(s: Stopped): void {
  assert.deepEqual(s.exit, { code: 0, signal: null }, `${s.name} exits 0 after SIGTERM; last output:\n${s.tail}`);
  assert.ok(s.tookMs < GRACE_MS, `${s.name} drained within its grace period (${s.tookMs} ms)`);
  assert.ok(!s.forced, `${s.name} logged no forced exit`);
}

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

type Outcome =
  | { kind: 'accepted'; orderId: string }
  | { kind: 'refused' }
  | { kind: 'status'; status: number; body: string }
  | { kind: 'cut'; error: string };

interface Attempt {
  key: string;
  startedAt: number;
  endedAt: number;
  outcome: Outcome;
  connection: string | null;
}

/**
 * One POST /checkouts. ECONNREFUSED means no connection was made, so nothing was sent; any other
 * failure (ECONNRESET, "other side closed", ...) is a request cut after it was sent.
 */
async function placeOrder(base: string, sku: string): Promise<Attempt> {
  const key = randomUUID();
  const startedAt = Date.now();
  const done = (outcome: Outcome, connection: string | null = null): Attempt => ({
    key,
    startedAt,
    endedAt: Date.now(),
    outcome,
    connection,
  });
  try {
    const res = await fetch(`${base}/checkouts`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify(checkoutRequest({ customerId: 'cust-shutdown', sku })),
    });
    const text = await res.text();
    if (res.status !== 202) return done({ kind: 'status', status: res.status, body: text.slice(0, 300) });
    return done(
      { kind: 'accepted', orderId: (JSON.parse(text) as { orderId: string }).orderId },
      res.headers.get('connection'),
    );
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') return done({ kind: 'refused' });
    return done({ kind: 'cut', error: `${(err as Error).message}: ${cause?.code ?? ''} ${cause?.message ?? ''}` });
  }
}

const accepted = (attempts: Attempt[]) =>
  attempts.flatMap((a) => (a.outcome.kind === 'accepted' ? [a.outcome.orderId] : []));

async function statusCounts(db: Db, orderIds: string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) GROUP BY status',
    [orderIds],
  );
  return new Map(rows.map((r) => [r.status, r.n]));
}

/** Waits until every order is in a terminal status; returns the counts per status. */
async function allTerminal(db: Db, orderIds: string[], timeoutMs: number): Promise<Map<string, number>> {
  return eventually(
    async () => {
      const counts = await statusCounts(db, orderIds);
      const terminal = TERMINAL.reduce((n, s) => n + (counts.get(s) ?? 0), 0);
      return terminal === orderIds.length ? counts : undefined;
    },
    timeoutMs,
    `all ${orderIds.length} orders to reach a terminal status`,
  );
}

async function shipped(db: Db, skus: string[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT coalesce(sum(shipped), 0)::int AS n FROM products WHERE sku = ANY($1)',
    [skus],
  );
  return rows[0]?.n ?? 0;
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

  async function apiUp(base: string): Promise<void> {
    await eventually(
      async () => ((await fetch(`${base}/healthz`).catch(() => undefined))?.ok ? true : undefined),
      60_000,
      `the API at ${base}`,
    );
  }

  describe('the API, SIGTERMed while 20 clients place orders', () => {
    const attempts: Attempt[] = [];
    let sigtermAt = 0;
    let apiExit: Exit;
    let apiExitMs = 0;
    let apiOutput = '';
    let worker: Stopped;
    const outcomes = (kind: Outcome['kind']) => attempts.filter((a) => a.outcome.kind === kind);

    before(async () => {
      const { config, env: childEnv } = await env();
      const base = `http://127.0.0.1:${config.http.port}`;
      const sagaWorker = processes.start('saga-worker', 'workers/saga-worker.ts', { env: childEnv });
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
  });

  describe('worker, relay and read model, each SIGTERMed mid-stream and restarted while orders flow', () => {
    const consumer = `shutdown-read-model-${randomUUID().slice(0, 8)}`;
    const attempts: Attempt[] = [];
    const stops: Stopped[] = [];
    const timings: string[] = [];
    let relayLag = 0;
    let openAtWorkerStop = 0;
    let shippedBefore = 0;
    const ids = () => accepted(attempts);

    before(async () => {
      const since = new Date(Date.now() - 2_000).toISOString();
      const { config, env: childEnv } = await env({
        READ_MODEL_CONSUMER: consumer,
        READ_MODEL_DELIVER_FROM: since,
        RELAY_BATCH_SIZE: '5',
      });
      const base = `http://127.0.0.1:${config.http.port}`;
      const start = (name: string, file: string) => processes.start(name, file, { env: childEnv });
      const running = {
        api: start('api', 'api/server.ts'),
        worker: start('saga-worker', 'workers/saga-worker.ts'),
        relay: start('relay', 'workers/relay.ts'),
        readModel: start('read-model', 'workers/read-model.ts'),
      };
      const stop = async (child: TestProcess, label: (tookMs: number) => string) => {
        const stopped = await terminate(child);
        stops.push(stopped);
        timings.push(label(stopped.tookMs));
      };
      await apiUp(base);

      shippedBefore = await shipped(db, skus);
      let producing = true;
      // A steady trickle the whole stack keeps up with on a small machine (2 CPUs in CI).
      const producers = Array.from({ length: 2 }, async (_, i) => {
        while (producing) {
          const a = await placeOrder(base, skus[i % skus.length]!);
          attempts.push(a);
          // Judged after the run; the API is never stopped here, so anything but a 202 is a failure.
          if (a.outcome.kind !== 'accepted') return;
          await sleep(250);
        }
      });
      const progress = async () => {
        const orderIds = ids();
        const { rows } = await db.query<{ terminal: number; published: number; projected: number }>(
          `SELECT
             (SELECT count(*)::int FROM orders WHERE id = ANY($1::uuid[]) AND status = ANY($2)) AS terminal,
             (SELECT count(*)::int FROM outbox WHERE partition_key = ANY($3) AND published_at IS NOT NULL) AS published,
             (SELECT count(*)::int FROM processed_events WHERE consumer = $4) AS projected`,
          [orderIds, TERMINAL, orderIds, consumer],
        );
        return rows[0]!;
      };
      /** Waits until `what` grew by at least `by` since now: the process being judged is doing work. */
      const advances = async (what: 'terminal' | 'published' | 'projected', by: number, label: string) => {
        const start = (await progress())[what];
        await eventually(async () => ((await progress())[what] >= start + by ? true : undefined), 60_000, label);
      };

      await advances('terminal', 10, 'the first sagas to finish');
      await advances('projected', 10, 'the read model to apply events');
      const backlog = async () => {
        const { rows } = await db.query<{ unpublished: number; unprojected: number }>(
          `SELECT count(*) FILTER (WHERE published_at IS NULL)::int AS unpublished,
                  count(*) FILTER (WHERE subject LIKE 'checkout.order.%' AND NOT EXISTS (
                    SELECT 1 FROM processed_events p WHERE p.consumer = $2 AND p.event_id = outbox.event_id))::int AS unprojected
           FROM outbox WHERE partition_key = ANY($1)`,
          [ids(), consumer],
        );
        return rows[0]!;
      };

      /**
       * Stops `first` while it keeps up with the flow, lets a backlog build up while nothing
       * replaces it, starts a second one and stops that one as soon as it is working through the
       * backlog (mid-batch), then starts a third that must finish the job.
       */
      const twice = async (
        name: 'relay' | 'readModel',
        file: string,
        what: 'published' | 'projected',
        lag: () => Promise<number>,
      ) => {
        const first = await terminate(running[name]);
        stops.push(first);
        timings.push(`${name} ${first.tookMs} ms (lag ${await lag()})`);
        await sleep(3_000);
        const start = (await progress())[what];
        const second = processes.start(name, file, { env: childEnv });
        running[name] = second;
        // Polled tightly: the point is to catch it while it is busy.
        const deadline = Date.now() + 60_000;
        while ((await progress())[what] <= start) {
          assert.ok(Date.now() < deadline, `the restarted ${name} works within 60 s`);
          await sleep(20);
        }
        const lagAtSigterm = await lag();
        await stop(second, (ms) => `${name} mid-backlog ${ms} ms (lag ${lagAtSigterm})`);
        running[name] = processes.start(name, file, { env: childEnv });
        await advances(what, 10, `the third ${name} to work`);
        return lagAtSigterm;
      };

      // Relay: finishes the batch in flight, marks what was acked, releases its partitions, exits.
      // Small batches, so the backlog takes many of them and the SIGTERM lands between two.
      relayLag = await twice('relay', 'workers/relay.ts', 'published', async () => (await backlog()).unpublished);

      // Read model: stops pulling, finishes the handlers in flight and the messages it already
      // received, drains; the next one resumes the durable consumer.
      await twice('readModel', 'workers/read-model.ts', 'projected', async () => (await backlog()).unprojected);

      // Worker: Worker.shutdown lets in-flight workflow tasks and activities finish.
      const { rows: open } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) AND NOT (status = ANY($2))',
        [ids(), TERMINAL],
      );
      openAtWorkerStop = open[0]?.n ?? 0;
      await stop(running.worker, (ms) => `worker ${ms} ms (${openAtWorkerStop} sagas open at SIGTERM)`);
      // The backlog stays bounded: no new orders while the next worker starts (bundling takes seconds).
      producing = false;
      await Promise.all(producers);
      running.worker = start('saga-worker', 'workers/saga-worker.ts');

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
      for (const [name, child] of Object.entries(running)) await stop(child, (ms) => `final ${name} ${ms} ms`);
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
      for (const s of stops) assertDrained(s);
      t.diagnostic(`pipeline: ${ids().length} orders; SIGTERM to exit: ${timings.join(', ')}`);
    });

    it('stops the second relay with rows still to publish, and the worker with sagas in flight', () => {
      assert.ok(relayLag > 0, 'the second relay was stopped with rows still to publish');
      assert.ok(openAtWorkerStop > 0, 'sagas are in flight when the worker is stopped');
    });

    it('accepts every order placed meanwhile, and completes each of them', async () => {
      assert.deepEqual(
        attempts.filter((a) => a.outcome.kind !== 'accepted'),
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
        'SELECT count(*)::int AS n FROM parked_events WHERE consumer = $1',
        [consumer],
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
