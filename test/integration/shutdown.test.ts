import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from 'nats';
import { durationToMs, repoRoot, type Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { connectNats } from '../../lib/nats';
import { createTemporalClient } from '../../lib/temporal';
import { sleep } from '../../lib/wait';
import { freePort } from '../support/ports';
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

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<Exit>;
  /** Last lines the child printed. */
  output: string[];
}

const children = new Set<Child>();

/**
 * Spawns `node --import tsx <file>` with `env`. Its warnings and errors are echoed, prefixed, to
 * stderr (the Temporal runtime logs INFO lines of its own whatever LOG_LEVEL says).
 */
function startChild(name: string, file: string, env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  for (const stream of [proc.stdout, proc.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      if (output.length > 40) output.shift();
      if (/"level":[456]0|\[(WARN|ERROR)\]|\berror\b/i.test(line))
        process.stderr.write(`[${name} ${proc.pid}] ${line}\n`);
    });
  }
  const exited = new Promise<Exit>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const child: Child = { name, proc, exited, output };
  children.add(child);
  void exited.then(() => children.delete(child));
  return child;
}

/**
 * Sends SIGTERM and asserts a clean drain: exit code 0, within the grace period, and no forced
 * exit logged. A child still running well after its grace period is SIGKILLed and fails the test.
 */
async function stopCleanly(child: Child): Promise<number> {
  const sentAt = Date.now();
  child.proc.kill('SIGTERM');
  const exit = await Promise.race([child.exited, sleep(GRACE_MS + 10_000).then(() => undefined)]);
  if (!exit) {
    child.proc.kill('SIGKILL');
    await child.exited;
    assert.fail(`${child.name} was still running ${GRACE_MS + 10_000} ms after SIGTERM`);
  }
  const tookMs = Date.now() - sentAt;
  const tail = child.output.slice(-10).join('\n');
  assert.deepEqual(exit, { code: 0, signal: null }, `${child.name} exits 0 after SIGTERM; last output:\n${tail}`);
  assert.ok(tookMs < GRACE_MS, `${child.name} drained within its grace period (${tookMs} ms)`);
  assert.ok(!child.output.some((l) => /forcing exit/.test(l)), `${child.name} logged no forced exit`);
  return tookMs;
}

/** Fails the suite, with what to run, when a service of the stack is not reachable: never a skip. */
async function requireStack(config: Config): Promise<{ db: Db; nc: NatsConnection }> {
  const db = await testDb(config);
  const nc = await connectNats(config.nats, 'shutdown-test').catch((err: Error) => {
    throw new Error(
      `NATS is not reachable at ${config.nats.servers.join(',')} (${err.message}); run \`npm run stack:up\` first`,
    );
  });
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
      body: JSON.stringify({
        customerId: 'cust-shutdown',
        items: [{ sku, quantity: 1 }],
        payment: { method: 'pm_card_visa' },
        shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
      }),
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

  before(async () => {
    ({ db, nc } = await requireStack(testConfig()));
    // SKUs of this run with ample stock, so every saga can complete and shipped counts are exact.
    skus = await Promise.all(Array.from({ length: 10 }, () => freshSku(db, 1_000_000, 990)));
  });

  after(async () => {
    for (const child of children) child.proc.kill('SIGKILL');
    await Promise.all([...children].map((c) => c.exited));
    await nc?.drain();
    await db?.end();
  });

  async function env(extra: Record<string, string> = {}): Promise<{ config: Config; env: NodeJS.ProcessEnv }> {
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
        ...process.env,
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

  it('API: SIGTERM mid-load finishes every accepted request; later ones are refused, never cut; every 202 order completes', async () => {
    const { config, env: childEnv } = await env();
    const base = `http://127.0.0.1:${config.http.port}`;
    const worker = startChild('saga-worker', 'workers/saga-worker.ts', childEnv);
    const api = startChild('api', 'api/server.ts', childEnv);
    await apiUp(base);

    // A keep-alive connection left idle: the drain must close it, not wait out its keep-alive.
    const idleAgent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      httpRequest(`${base}/healthz`, { agent: idleAgent }, (res) => res.resume().on('end', resolve))
        .on('error', reject)
        .end();
    });

    const attempts: Attempt[] = [];
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

    const sigtermAt = Date.now();
    api.proc.kill('SIGTERM');
    const exit = await Promise.race([api.exited, sleep(GRACE_MS + 10_000).then(() => undefined)]);
    const apiExitMs = Date.now() - sigtermAt;
    apiGone = true;
    await Promise.all(loops);
    idleAgent.destroy();
    assert.ok(exit, 'the API exits after SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, `the API exits 0; last output:\n${api.output.join('\n')}`);
    // Its keep-alive timeout is 5 s: an idle connection that was not closed would hold it that long.
    assert.ok(apiExitMs < 4_500, `the API drained promptly (${apiExitMs} ms), idle keep-alive connection included`);

    const cut = attempts.filter((a) => a.outcome.kind === 'cut');
    assert.deepEqual(cut, [], 'no request was cut after it was sent');
    const otherStatus = attempts.filter(
      (a) => a.outcome.kind === 'status' && !(a.outcome.status === 503 && a.startedAt >= sigtermAt),
    );
    assert.deepEqual(otherStatus, [], 'every answer is a 202 (a 503 only for requests sent after SIGTERM)');
    const refused = attempts.filter((a) => a.outcome.kind === 'refused');
    assert.ok(refused.length > 0, 'requests after the close were refused (the load really outlived the API)');
    assert.ok(
      refused.every((a) => a.endedAt >= sigtermAt),
      'nothing was refused before SIGTERM',
    );
    const inFlight = attempts.filter(
      (a) => a.outcome.kind === 'accepted' && a.startedAt < sigtermAt && a.endedAt > sigtermAt,
    );
    assert.ok(inFlight.length > 0, 'requests in flight at SIGTERM were answered 202');
    // Requests that reached an open keep-alive connection after SIGTERM are served too; answers
    // sent while draining tell the client not to reuse the connection.
    const lateAccepted = attempts.filter((a) => a.outcome.kind === 'accepted' && a.startedAt > sigtermAt);
    assert.ok(
      attempts.some((a) => a.endedAt > sigtermAt && a.connection === 'close'),
      'answers sent while draining say Connection: close',
    );

    // A refused request never reached the service; every 202 is a stored order with its key.
    const { rows: refusedKeys } = await db.query('SELECT key FROM idempotency_keys WHERE key = ANY($1)', [
      refused.map((a) => a.key),
    ]);
    assert.deepEqual(refusedKeys, [], 'no refused request was processed');
    const orderIds = accepted(attempts);
    const { rows: stored } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[])',
      [orderIds],
    );
    assert.equal(stored[0]?.n, orderIds.length, 'every 202 order is in the database');

    const counts = await allTerminal(db, orderIds, 90_000);
    assert.deepEqual([...counts], [['COMPLETED', orderIds.length]], 'every accepted order completes');
    const workerMs = await stopCleanly(worker);
    console.log(
      `api: ${orderIds.length} accepted (${inFlight.length} in flight at SIGTERM, ${lateAccepted.length} sent after it on open connections), ` +
        `${refused.length} refused; API exited in ${apiExitMs} ms, worker in ${workerMs} ms`,
    );
  });

  it('worker, relay and read model: each SIGTERMed mid-stream and restarted; no order, outbox row or event is lost', async () => {
    const consumer = `shutdown-read-model-${randomUUID().slice(0, 8)}`;
    const since = new Date(Date.now() - 2_000).toISOString();
    const { config, env: childEnv } = await env({
      READ_MODEL_CONSUMER: consumer,
      READ_MODEL_DELIVER_FROM: since,
      RELAY_BATCH_SIZE: '5',
    });
    const base = `http://127.0.0.1:${config.http.port}`;
    const running = {
      api: startChild('api', 'api/server.ts', childEnv),
      worker: startChild('saga-worker', 'workers/saga-worker.ts', childEnv),
      relay: startChild('relay', 'workers/relay.ts', childEnv),
      readModel: startChild('read-model', 'workers/read-model.ts', childEnv),
    };
    try {
      await apiUp(base);

      const shippedBefore = await shipped(db, skus);
      const attempts: Attempt[] = [];
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
      const ids = () => accepted(attempts);
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
      const timings: string[] = [];
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
        const first = running[name];
        timings.push(`${name} ${await stopCleanly(first)} ms (lag ${await lag()})`);
        await sleep(3_000);
        const start = (await progress())[what];
        const second = startChild(name, file, childEnv);
        running[name] = second;
        // Polled tightly: the point is to catch it while it is busy.
        const deadline = Date.now() + 60_000;
        while ((await progress())[what] <= start) {
          assert.ok(Date.now() < deadline, `the restarted ${name} works within 60 s`);
          await sleep(20);
        }
        const lagAtSigterm = await lag();
        timings.push(`${name} mid-backlog ${await stopCleanly(second)} ms (lag ${lagAtSigterm})`);
        running[name] = startChild(name, file, childEnv);
        await advances(what, 10, `the third ${name} to work`);
        return lagAtSigterm;
      };

      // Relay: finishes the batch in flight, marks what was acked, releases its partitions, exits.
      // Small batches, so the backlog takes many of them and the SIGTERM lands between two.
      const relayLag = await twice('relay', 'workers/relay.ts', 'published', async () => (await backlog()).unpublished);
      assert.ok(relayLag > 0, 'the second relay was stopped with rows still to publish');

      // Read model: stops pulling, finishes the handlers in flight and the messages it already
      // received, drains; the next one resumes the durable consumer.
      await twice('readModel', 'workers/read-model.ts', 'projected', async () => (await backlog()).unprojected);

      // Worker: Worker.shutdown lets in-flight workflow tasks and activities finish.
      const { rows: open } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) AND NOT (status = ANY($2))',
        [ids(), TERMINAL],
      );
      assert.ok((open[0]?.n ?? 0) > 0, 'sagas are in flight when the worker is stopped');
      timings.push(`worker ${await stopCleanly(running.worker)} ms (${open[0]?.n} sagas open at SIGTERM)`);
      // The backlog stays bounded: no new orders while the next worker starts (bundling takes seconds).
      producing = false;
      await Promise.all(producers);
      running.worker = startChild('saga-worker', 'workers/saga-worker.ts', childEnv);

      const orderIds = ids();
      assert.deepEqual(
        attempts.filter((a) => a.outcome.kind !== 'accepted'),
        [],
        'every order was accepted',
      );

      const counts = await allTerminal(db, orderIds, 90_000);
      assert.deepEqual([...counts], [['COMPLETED', orderIds.length]], 'every order completed');
      // No saga step ran twice, or was lost, across the worker restart.
      assert.equal((await shipped(db, skus)) - shippedBefore, orderIds.length, 'one unit shipped per order');
      const { rows: charges } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM sim_provider_charges WHERE idempotency_key = ANY($1) AND status = 'CHARGED'`,
        [orderIds.map((id) => `order:${id}:charge`)],
      );
      assert.equal(charges[0]?.n, orderIds.length, 'one charge per order');

      // Every outbox row of these orders reaches JetStream and is marked published.
      await eventually(
        async () => {
          const { rows } = await db.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM outbox WHERE partition_key = ANY($1) AND published_at IS NULL',
            [orderIds],
          );
          return rows[0]?.n === 0 ? true : undefined;
        },
        60_000,
        'every outbox row to be published',
      );

      // The read model has each order once, with its final status, and applied each of its
      // events exactly once (a redelivery after a restart is a duplicate, not a second effect).
      const { rows: expected } = await db.query<{ event_id: string }>(
        `SELECT event_id FROM outbox WHERE partition_key = ANY($1) AND subject LIKE 'checkout.order.%'`,
        [orderIds],
      );
      assert.equal(expected.length, orderIds.length * 2, 'placed + completed per order');
      await eventually(
        async () => {
          const { rows } = await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM read_orders r JOIN orders o ON o.id = r.order_id
             WHERE r.order_id = ANY($1::uuid[]) AND r.status = o.status`,
            [orderIds],
          );
          return rows[0]?.n === orderIds.length ? true : undefined;
        },
        // A message in flight to a stopped subscriber comes back after the 30 s ack wait.
        60_000,
        'the read model to show every order with its final status',
      );
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

      for (const [name, child] of Object.entries(running)) timings.push(`final ${name} ${await stopCleanly(child)} ms`);
      console.log(`pipeline: ${orderIds.length} orders; SIGTERM to exit: ${timings.join(', ')}`);
    } finally {
      const jsm = await nc.jetstreamManager();
      await jsm.consumers.delete('CHECKOUT', consumer).catch(() => undefined);
    }
  });
  it('a drain that cannot finish: the grace period, or a second signal, forces the exit with a log line', async () => {
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
        ...(await env()).env,
        DATABASE_URL: `postgres://checkout:checkout@127.0.0.1:${address.port}/blackhole`,
        SHUTDOWN_GRACE_PERIOD: grace,
      });
      const expiring = startChild('relay-grace', 'workers/relay.ts', await relayEnv('2s'));
      const escalated = startChild('relay-second-signal', 'workers/relay.ts', await relayEnv('30s'));
      await eventually(async () => (hung.size >= 2 ? true : undefined), 30_000, 'both relays to be stuck connecting');

      const t0 = Date.now();
      expiring.proc.kill('SIGTERM');
      escalated.proc.kill('SIGTERM');
      await sleep(1_500);
      // After the echo window, so this is a second request, not the first one arriving twice.
      escalated.proc.kill('SIGINT');
      const [byGrace, bySignal] = await Promise.all([expiring.exited, escalated.exited]);
      const tookMs = Date.now() - t0;

      assert.deepEqual(bySignal, { code: 130, signal: null }, 'a second signal exits at once with 128 + SIGINT');
      assert.ok(
        escalated.output.some((l) => /second SIGINT while draining: forcing exit/.test(l)),
        escalated.output.join('\n'),
      );
      assert.deepEqual(byGrace, { code: 1, signal: null }, 'an expired grace period exits 1');
      assert.ok(
        expiring.output.some((l) => /grace period expired before the drain finished: forcing exit/.test(l)),
        expiring.output.join('\n'),
      );
      assert.ok(tookMs < 8_000, `both forced out promptly (${tookMs} ms)`);
    } finally {
      for (const socket of hung) socket.destroy();
      await new Promise<void>((resolve) => blackhole.close(() => resolve()));
    }
  });
});
