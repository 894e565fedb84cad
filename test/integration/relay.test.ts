import assert from 'node:assert/strict';
import { grantPrincipals } from '../../access/postgres-grants';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DeliverPolicy, type JetStreamClient, type NatsConnection } from 'nats';
import type { Config } from '../../lib/config';
import { createDb, withTransaction, type Db, type Tx } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { migrate } from '../../lib/migrate';
import { sleep } from '../../lib/wait';
import { OUTBOX_PARTITIONS, OutboxRelay, RELAY_LOCKS, type RelayOptions } from '../../outbox/relay';
import { connectTestNats } from '../support/nats';
import { appendPositioned, POSITIONED_SUBJECT } from '../support/outbox';
import { stopProcess, TestProcesses, type TestProcess } from '../support/processes';
import { eventually, insertOrder, testConfig, testDb } from '../support/services';

// Every event here is an inventory.stock.reserved whose first line's quantity is the event's
// position in its order (1, 2, 3, ...), so the stream alone shows whether an order kept its order.
const SUBJECT = POSITIONED_SUBJECT;
const STREAM = 'INVENTORY';
const appendSeq = (tx: Tx, orderId: string, k: number) => appendPositioned(tx, '/test/relay', orderId, k);

interface Streamed {
  id: string;
  orderId: string;
  k: number;
  seq: number;
}

/**
 * Reads SUBJECT from JetStream with an ordered consumer starting at `since`, until every id in
 * `expected` has been seen and the consumer has caught up, so a stored duplicate would show too.
 */
async function readStream(
  nc: NatsConnection,
  since: Date,
  expected: ReadonlySet<string>,
  timeoutMs = 60_000,
): Promise<Streamed[]> {
  const consumer = await nc.jetstream().consumers.get(STREAM, {
    filterSubjects: [SUBJECT],
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: since.toISOString(),
  });
  const messages = await consumer.consume({ max_messages: 500 });
  const timer = setTimeout(() => messages.stop(), timeoutMs);
  const seen: Streamed[] = [];
  const found = new Set<string>();
  try {
    for await (const m of messages) {
      const body = m.json<{ id: string; subject: string; data: { items: { quantity: number }[] } }>();
      if (expected.has(body.id)) {
        seen.push({ id: body.id, orderId: body.subject, k: body.data.items[0]?.quantity ?? 0, seq: m.seq });
        found.add(body.id);
      }
      if (found.size === expected.size && m.info.pending === 0) break;
    }
  } finally {
    clearTimeout(timer);
    messages.stop();
  }
  assert.equal(
    found.size,
    expected.size,
    `all ${expected.size} event ids reached the stream within ${timeoutMs} ms (saw ${found.size})`,
  );
  return seen;
}

/** Each id once, and per order the positions 1..n in stream order. */
function assertOnceAndInOrder(streamed: Streamed[], expectedPerOrder: ReadonlyMap<string, number>): void {
  const counts = new Map<string, number>();
  for (const s of streamed) counts.set(s.id, (counts.get(s.id) ?? 0) + 1);
  const dups = [...counts].filter(([, n]) => n > 1);
  assert.deepEqual(dups, [], 'each event id is stored once (republished copies were deduplicated)');
  const perOrder = new Map<string, number[]>();
  for (const s of [...streamed].sort((a, b) => a.seq - b.seq)) {
    const list = perOrder.get(s.orderId) ?? [];
    list.push(s.k);
    perOrder.set(s.orderId, list);
  }
  for (const [orderId, n] of expectedPerOrder) {
    assert.deepEqual(
      perOrder.get(orderId),
      Array.from({ length: n }, (_, i) => i + 1),
      `order ${orderId} in commit order`,
    );
  }
}

async function publishedIds(db: Db, ids: Iterable<string>): Promise<Set<string>> {
  const { rows } = await db.query<{ event_id: string }>(
    'SELECT event_id FROM outbox WHERE event_id = ANY($1::uuid[]) AND published_at IS NOT NULL',
    [[...ids]],
  );
  return new Set(rows.map((r) => r.event_id));
}

async function allPublished(db: Db, ids: ReadonlySet<string>, timeoutMs: number, what: string): Promise<void> {
  await eventually(async () => ((await publishedIds(db, ids)).size === ids.size ? true : undefined), timeoutMs, what);
}

/** Backend pid -> number of partition locks held, in the test database. */
async function partitionHolders(db: Db): Promise<Map<number, number>> {
  const { rows } = await db.query<{ pid: number; n: number }>(
    `SELECT pid, count(*)::int AS n FROM pg_locks
     WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND classid = $1::oid
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
     GROUP BY pid`,
    [RELAY_LOCKS.partitionSpace],
  );
  return new Map(rows.map((r) => [r.pid, r.n]));
}

async function backendPid(db: Db, applicationName: string): Promise<number | undefined> {
  const { rows } = await db.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
    [applicationName],
  );
  assert.ok(rows.length <= 1, `at most one session named ${applicationName}`);
  return rows[0]?.pid;
}

/**
 * The relay tests assert on database-wide state (which session holds which partition lock), so
 * they run on a database of their own, recreated each run: any other relay on the shared test
 * database (the e2e suite starts one) would otherwise take partitions from them.
 */
async function dedicatedDatabase(shared: Db, sharedConfig: Config): Promise<{ config: Config; db: Db }> {
  const url = new URL(sharedConfig.database.url);
  const name = `${decodeURIComponent(url.pathname.slice(1))}_relay`;
  assert.match(name, /^\w+$/);
  await shared.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await shared.query(`CREATE DATABASE "${name}"`);
  url.pathname = `/${name}`;
  const config = testConfig({ DATABASE_URL: url.toString() });
  const db = createDb(config.database.url, {
    max: 10,
    applicationName: 'checkout-tests',
    timeouts: config.database.timeouts,
  });
  await migrate(db);
  await grantPrincipals(db);
  return { config, db };
}

/** The relay's database session, from its last "joined" log line. */
const backendPidOf = (relay: TestProcess) =>
  relay.logs.findLast((l) => l.msg === 'outbox relay joined')?.backendPid as number | undefined;
const ownershipChangesOf = (relay: TestProcess) =>
  relay.logs.filter((l) => l.msg === 'outbox relay partitions changed').length;

const inProcessOptions: RelayOptions = {
  batchSize: 50,
  pollIntervalMs: 50,
  rebalanceIntervalMs: 200,
  publishTimeoutMs: 5_000,
  retentionMs: 86_400_000,
};

/** An in-process relay on a pool of its own, named so its session can be found in pg_stat_activity. */
function startInProcessRelay(config: Config, js: Pick<JetStreamClient, 'publish'>, name: string) {
  const relayDb = createDb(config.database.url, { max: 2, applicationName: name, timeouts: config.database.timeouts });
  // These tests cause publish and connection failures on purpose; the relay's warnings about them
  // are expected, so only errors are shown unless LOG_LEVEL asks for more.
  const relay = new OutboxRelay(
    { db: relayDb, js, logger: createLogger(name, process.env.LOG_LEVEL ?? 'error') },
    inProcessOptions,
  );
  const controller = new AbortController();
  const running = relay.run(controller.signal);
  return {
    relay,
    async stop() {
      controller.abort();
      await running;
      await relayDb.end();
    },
  };
}

/** An in-process relay (see above) that owns every partition: the only relay on its database. */
async function startOwningRelay(config: Config, js: Pick<JetStreamClient, 'publish'>, name: string) {
  const running = startInProcessRelay(config, js, name);
  try {
    await eventually(
      async () => (running.relay.status().ownedPartitions.length === OUTBOX_PARTITIONS ? true : undefined),
      10_000,
      'the relay to own every partition',
    );
  } catch (err) {
    await running.stop();
    throw err;
  }
  return running;
}

describe('outbox relay against real Postgres and NATS', () => {
  let config: Config;
  let db: Db;
  let nc: NatsConnection;
  const processes = new TestProcesses();

  before(async () => {
    const sharedConfig = testConfig();
    const shared = await testDb(sharedConfig);
    try {
      ({ config, db } = await dedicatedDatabase(shared, sharedConfig));
    } finally {
      await shared.end();
    }
    nc = await connectTestNats(config, 'relay-test');
  });
  after(async () => {
    await processes.killAll();
    await nc?.drain();
    await db?.end();
  });

  it('the relay and the migration agree on the number of partitions', async () => {
    const { rows } = await db.query<{ expr: string }>(
      `SELECT pg_get_expr(d.adbin, d.adrelid) AS expr FROM pg_attrdef d
       JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
       WHERE d.adrelid = 'outbox'::regclass AND a.attname = 'partition'`,
    );
    assert.match(
      rows[0]?.expr ?? '(no generated partition column)',
      new RegExp(`% ${OUTBOX_PARTITIONS}\\)\\)::smallint$`),
    );
  });

  describe('relay processes: two share the partitions, a third joins under load, one is SIGKILLed mid-stream', () => {
    const orders = Array.from({ length: 40 }, () => randomUUID());
    const perOrder = 25;
    const total = orders.length * perOrder;
    const eventIds = new Set<string>();
    const relays: TestProcess[] = [];
    let split = new Map<number, number>();
    let publishedAtJoin = 0;
    let atKill = 0;
    let victimOwned = 0;
    let victimHoldsAfterTakeover = true;
    let takeover = Number.NaN;
    let streamed: Streamed[] = [];
    let ownershipLogged = false;
    const survivorExits: (number | null)[] = [];

    const heldBy = (holders: Map<number, number>, r: TestProcess) => {
      const pid = backendPidOf(r);
      return pid === undefined ? 0 : (holders.get(pid) ?? 0);
    };
    // Split: every partition held, every member holding some and none above its share. Members
    // rebalance between their own batches, one after another, so an uneven moment (a newcomer
    // holding what one member gave back while another still holds its old share) is expected on
    // the way; only a split that never settles is a failure.
    const splitAmong = (members: TestProcess[], what: string) =>
      eventually(
        async () => {
          const holders = await partitionHolders(db);
          const all = members.reduce((n, r) => n + heldBy(holders, r), 0) === OUTBOX_PARTITIONS;
          const share = Math.ceil(OUTBOX_PARTITIONS / members.length);
          return all && members.every((r) => heldBy(holders, r) > 0 && heldBy(holders, r) <= share)
            ? holders
            : undefined;
        },
        30_000,
        what,
      );
    const spawnRelay = () => {
      const r = processes.start('relay', 'workers/relay.ts', {
        env: {
          DATABASE_URL: config.database.url,
          RELAY_BATCH_SIZE: '20',
          RELAY_POLL_INTERVAL: '200ms',
          RELAY_REBALANCE_INTERVAL: '500ms',
          LOG_LEVEL: 'info',
        },
      });
      relays.push(r);
      return r;
    };

    before(async () => {
      const since = new Date(Date.now() - 2_000);
      let producing: Promise<unknown> = Promise.resolve();
      let stopProducing = false;
      let markKilled = () => {};
      const killed = new Promise<void>((resolve) => (markKilled = resolve));
      try {
        const [a, b] = [spawnRelay(), spawnRelay()];
        await splitAmong([a, b], 'two relays to split the partitions');
        // Interleave orders across transactions, as concurrent sagas would, while the relays run.
        // The last transactions wait for the kill, so it certainly happens mid-stream.
        producing = (async () => {
          for (let k = 1; k <= perOrder && !stopProducing; k += 1) {
            if (k === 19) await killed;
            await withTransaction(db, async (tx) => {
              for (const orderId of [...orders].sort(() => Math.random() - 0.5))
                eventIds.add(await appendSeq(tx, orderId, k));
            });
            await sleep(80);
          }
        })().then(
          () => undefined,
          (err: unknown) => err,
        );

        // A third relay joins while rows flow: the first two give partitions back between batches.
        const c = spawnRelay();
        split = await splitAmong([a, b, c], 'the joining relay to get its share');
        publishedAtJoin = (await publishedIds(db, eventIds)).size;

        atKill = await eventually(
          async () => {
            const n = (await publishedIds(db, eventIds)).size;
            return n >= total / 4 ? n : undefined;
          },
          60_000,
          'the relays to publish a quarter of the rows',
        );
        victimOwned = heldBy(await partitionHolders(db), a);
        const killedAt = Date.now();
        await stopProcess(a, 'SIGKILL');
        markKilled();

        await splitAmong([b, c], 'the two survivors to take over every partition');
        takeover = Date.now() - killedAt;
        victimHoldsAfterTakeover = (await partitionHolders(db)).has(backendPidOf(a)!);
        const producerError = await producing;
        if (producerError) throw producerError;
        await allPublished(db, eventIds, 60_000, 'every row to be published by the survivors');
        streamed = await readStream(nc, since, eventIds);
        ownershipLogged = relays.every((r) => ownershipChangesOf(r) > 0);
        for (const r of [b, c]) survivorExits.push((await stopProcess(r, 'SIGTERM')).code);
      } finally {
        // Not left to after(): relays still holding partitions would distort the next tests.
        stopProducing = true;
        markKilled();
        await producing;
        for (const r of relays) await stopProcess(r, 'SIGKILL');
      }
    });

    it('splits the partitions three ways, none above its share, once the third joins under load', () => {
      assert.equal(split.size, 3, 'no other relay on this database');
      assert.ok(
        [...split.values()].every((n) => n <= Math.ceil(OUTBOX_PARTITIONS / 3)),
        `no relay above its share: ${[...split.values()].join(',')}`,
      );
    });

    it('SIGKILLs a relay that owned partitions, mid-stream', () => {
      assert.ok(victimOwned > 0, 'the killed relay owned partitions');
      assert.ok(atKill < total, `killed mid-stream (${atKill}/${total} published)`);
    });

    it('hands every partition of the killed relay to the survivors within a few rebalance intervals', (t) => {
      assert.equal(victimHoldsAfterTakeover, false, 'the killed relay holds nothing');
      t.diagnostic(
        `split ${[...split.values()].join('/')} after a join at ${publishedAtJoin}/${total} published; ` +
          `SIGKILLed a relay owning ${victimOwned} partitions at ${atKill}/${total}; survivors held all ${OUTBOX_PARTITIONS} after ${takeover} ms`,
      );
      assert.ok(takeover < 5_000, `survivors took over within a few rebalance intervals (${takeover} ms)`);
    });

    it('delivers every row once, in commit order per order', () => {
      assert.equal(eventIds.size, total);
      assertOnceAndInOrder(streamed, new Map(orders.map((o) => [o, perOrder])));
    });

    it('logs each relay’s partition ownership', () => {
      assert.ok(ownershipLogged, 'every relay logged its ownership');
    });

    it('shuts each survivor down cleanly on SIGTERM', () => {
      assert.deepEqual(survivorExits, [0, 0], 'a survivor shuts down cleanly on SIGTERM');
    });
  });

  // Sagas serialise an order's transactions on its row; position k is read under that lock, so it
  // is the commit order by construction.
  const appendLocked = async (tx: Tx, orderId: string): Promise<string> => {
    await tx.query('SELECT 1 FROM orders WHERE id = $1 FOR UPDATE', [orderId]);
    const { rows } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE partition_key = $1', [
      orderId,
    ]);
    return appendSeq(tx, orderId, (rows[0]?.n ?? 0) + 1);
  };

  it('publishes past a lower id still uncommitted, then that row once it commits, before its successor', async () => {
    const since = new Date(Date.now() - 2_000);
    const running = await startOwningRelay(config, nc.jetstream(), `relay-test-trap-${randomUUID().slice(0, 8)}`);
    // The deterministic trap: X1 takes the lower id and stays uncommitted while Y1 and Y2
    // commit and are published; X1 must still be published once it commits, before X2.
    const [x, y] = [await insertOrder(db), await insertOrder(db)];
    const a = await db.connect();
    const c = await db.connect();
    let ids: string[];
    try {
      await a.query('BEGIN');
      const x1 = await appendLocked(a, x);
      const y1 = await withTransaction(db, (tx) => appendLocked(tx, y));
      await c.query('BEGIN');
      // Waits for A's lock on order X; settled into a value so a failure elsewhere cannot leave
      // it as an unhandled rejection.
      const x2Pending = appendLocked(c, x).then(
        (id) => ({ id }),
        (err: unknown) => ({ err }),
      );
      const y2 = await withTransaction(db, (tx) => appendLocked(tx, y));
      await allPublished(db, new Set([y1, y2]), 10_000, 'Y1 and Y2 to be published past the uncommitted X1');
      assert.equal((await publishedIds(db, [x1])).size, 0, 'X1 is not visible yet');
      await a.query('COMMIT');
      const x2 = await x2Pending;
      if ('err' in x2) throw x2.err;
      await c.query('COMMIT');
      ids = [y1, y2, x1, x2.id];
      await allPublished(db, new Set(ids), 30_000, 'every committed row to be published');
    } finally {
      // Destroyed rather than pooled: after a failed assertion they may still be in a transaction.
      a.release(true);
      c.release(true);
      await running.stop();
    }
    const streamed = await readStream(nc, since, new Set(ids));
    assertOnceAndInOrder(
      streamed,
      new Map([
        [x, 2],
        [y, 2],
      ]),
    );
  });

  it('loses nothing among many overlapping transactions, some held open, some rolled back, each order in commit order', async () => {
    const since = new Date(Date.now() - 2_000);
    const running = await startOwningRelay(config, nc.jetstream(), `relay-test-overlap-${randomUUID().slice(0, 8)}`);
    const expected = new Set<string>();
    const perOrder = new Map<string, number>();
    try {
      const orders = await Promise.all(Array.from({ length: 6 }, () => insertOrder(db)));
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = 0; i < 12; i += 1) {
            const orderId = orders[Math.floor(Math.random() * orders.length)]!;
            const rollback = Math.random() < 0.15;
            const tx = await db.connect();
            let id: string | undefined;
            try {
              await tx.query('BEGIN');
              await sleep(Math.random() * 40);
              id = await appendLocked(tx, orderId);
              if (Math.random() < 0.3) await sleep(100 + Math.random() * 200);
              await tx.query(rollback ? 'ROLLBACK' : 'COMMIT');
            } catch (err) {
              await tx.query('ROLLBACK');
              throw err;
            } finally {
              tx.release();
            }
            if (!rollback) {
              expected.add(id);
              perOrder.set(orderId, (perOrder.get(orderId) ?? 0) + 1);
            }
          }
        }),
      );
      await allPublished(db, expected, 30_000, 'every committed row to be published');
    } finally {
      await running.stop();
    }
    const streamed = await readStream(nc, since, expected);
    assertOnceAndInOrder(streamed, perOrder);
  });

  describe('while JetStream rejects every publish for 3 s, and one event twice more', () => {
    const name = `relay-test-nats-${randomUUID().slice(0, 8)}`;
    let since: Date;
    const acked = new Set<string>();
    const attemptsAt = new Map<string, number[]>();
    const expected = new Set<string>();
    const perOrder = new Map<string, number>();
    const violations: string[] = [];
    /** Rows marked published, and partitions this relay's session held, at each look during the outage. */
    const publishedDuringOutage: number[] = [];
    const heldDuringOutage: (number | undefined)[] = [];
    let outageUntil = 0;
    let flakyId: string | undefined;
    let flakyFailures = 0;
    let pid: number | undefined;
    let heldAtStart: number | undefined;
    let during: number[] = [];
    let afterOutage: { pid: number | undefined; held: number | undefined; members: number };
    let streamed: Streamed[] = [];

    before(async () => {
      since = new Date(Date.now() - 2_000);
      const real = nc.jetstream();
      // Only the publish path is stubbed, and only to reject: whatever gets through is published
      // to the real stream, which the assertions read back.
      const js: Pick<JetStreamClient, 'publish'> = {
        async publish(subject, payload, options) {
          const id = options?.msgID ?? '';
          attemptsAt.set(id, [...(attemptsAt.get(id) ?? []), Date.now()]);
          if (Date.now() < outageUntil) throw new Error('simulated NATS outage');
          if (id === flakyId && flakyFailures < 2) {
            flakyFailures += 1;
            throw new Error('simulated lost ack');
          }
          const ack = await real.publish(subject, payload, options);
          acked.add(id);
          return ack;
        },
      };
      const checkMarkedOnlyAfterAck = async () => {
        for (const id of await publishedIds(db, expected)) if (!acked.has(id)) violations.push(id);
      };
      const running = await startOwningRelay(config, js, name);
      try {
        pid = await backendPid(db, name);
        heldAtStart = pid === undefined ? undefined : (await partitionHolders(db)).get(pid);

        outageUntil = Date.now() + 3_000;
        const orders = Array.from({ length: 5 }, () => randomUUID());
        await withTransaction(db, async (tx) => {
          for (let k = 1; k <= 4; k += 1) {
            for (const orderId of orders) {
              const id = await appendSeq(tx, orderId, k);
              expected.add(id);
              perOrder.set(orderId, k);
              if (orderId === orders[0] && k === 2) flakyId = id;
            }
          }
        });
        const firstOfOrder0 = [...expected][0]!;
        while (Date.now() < outageUntil - 100) {
          await checkMarkedOnlyAfterAck();
          publishedDuringOutage.push((await publishedIds(db, expected)).size);
          heldDuringOutage.push(pid === undefined ? undefined : (await partitionHolders(db)).get(pid));
          await sleep(200);
        }
        during = (attemptsAt.get(firstOfOrder0) ?? []).filter((t) => t < outageUntil);

        while ((await publishedIds(db, expected)).size < expected.size) {
          await checkMarkedOnlyAfterAck();
          await sleep(50);
        }
        await checkMarkedOnlyAfterAck();
        const pidAfter = await backendPid(db, name);
        afterOutage = {
          pid: pidAfter,
          held: pidAfter === undefined ? undefined : (await partitionHolders(db)).get(pidAfter),
          members: running.relay.status().members,
        };
      } finally {
        await running.stop();
      }
      streamed = await readStream(nc, since, expected);
    });

    it('keeps its database session and every partition, during the outage and after it', () => {
      assert.ok(pid, 'the relay has a session');
      assert.equal(heldAtStart, OUTBOX_PARTITIONS);
      for (const held of heldDuringOutage) assert.equal(held, OUTBOX_PARTITIONS, 'partitions kept during the outage');
      assert.equal(afterOutage.pid, pid, 'the same database session throughout');
      assert.equal(afterOutage.held, OUTBOX_PARTITIONS, 'partitions kept after the outage');
      assert.equal(afterOutage.members, 1);
    });

    it('marks nothing published during the outage, and no row before its ack', () => {
      assert.ok(publishedDuringOutage.length > 0, 'looked during the outage');
      for (const n of publishedDuringOutage) assert.equal(n, 0, 'nothing is marked published during the outage');
      assert.deepEqual(violations, [], 'no row was marked published before its ack');
    });

    it('retries with growing gaps, not in a busy loop', () => {
      assert.ok(during.length >= 3, `retried during the outage (${during.length} attempts)`);
      // The poll interval is 50 ms: without backoff there would be about 60 attempts in 3 s.
      assert.ok(during.length <= 8, `backed off exponentially, not busy-looping (${during.length} attempts in 3 s)`);
      const gaps = during.slice(1).map((t, i) => t - during[i]!);
      assert.ok(gaps.at(-1)! >= 2 * gaps[0]!, `growing gaps between attempts: ${gaps.join(', ')} ms`);
    });

    it('gets an event through after its publish failed twice', () => {
      assert.equal(flakyFailures, 2, 'the flaky event failed twice before getting through');
    });

    it('then delivers every row once, in commit order per order', () => {
      assertOnceAndInOrder(streamed, perOrder);
    });
  });

  it('a lost database session drops every partition, then reconnects and takes them back', async () => {
    const since = new Date(Date.now() - 2_000);
    const name = `relay-test-db-${randomUUID().slice(0, 8)}`;
    const running = await startOwningRelay(config, nc.jetstream(), name);
    try {
      const pid = await backendPid(db, name);
      assert.ok(pid);
      // Terminated while idle: the client gets an 'error' event, not a failed query.
      await db.query('SELECT pg_terminate_backend($1)', [pid]);
      const newPid = await eventually(
        async () => {
          const p = await backendPid(db, name);
          return p !== undefined && p !== pid && (await partitionHolders(db)).get(p) === OUTBOX_PARTITIONS
            ? p
            : undefined;
        },
        10_000,
        'a new session holding every partition',
      );
      assert.equal((await partitionHolders(db)).get(pid), undefined, 'the old session holds nothing');
      assert.notEqual(newPid, pid);

      const orderId = randomUUID();
      const ids = new Set<string>();
      for (let k = 1; k <= 3; k += 1) ids.add(await withTransaction(db, (tx) => appendSeq(tx, orderId, k)));
      await allPublished(db, ids, 10_000, 'rows written after the reconnect to be published');
      const streamed = await readStream(nc, since, ids);
      assertOnceAndInOrder(streamed, new Map([[orderId, 3]]));
    } finally {
      await running.stop();
    }
  });
});
