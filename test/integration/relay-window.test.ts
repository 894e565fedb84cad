import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { JetStreamClient, NatsConnection } from 'nats';
import type { Config } from '../../lib/config';
import { createDb, withTransaction, type Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { migrate } from '../../lib/migrate';
import { sleep } from '../../lib/wait';
import { OUTBOX_PARTITIONS, OutboxRelay } from '../../outbox/relay';
import { connectTestNats } from '../support/nats';
import { appendPositioned } from '../support/outbox';
import { eventually, testConfig, testDb } from '../support/services';

// The relay's publish window (issue 15): publishes stay in flight across claims, and an order's
// events still go out one after another, each only after its predecessor's ack.

/** A database of this file's own, so no other relay on the shared test database takes partitions. */
async function dedicatedDatabase(): Promise<{ config: Config; db: Db }> {
  const sharedConfig = testConfig();
  const shared = await testDb(sharedConfig);
  const url = new URL(sharedConfig.database.url);
  const name = `${decodeURIComponent(url.pathname.slice(1))}_relay_window`;
  assert.match(name, /^\w+$/);
  try {
    await shared.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await shared.query(`CREATE DATABASE "${name}"`);
  } finally {
    await shared.end();
  }
  url.pathname = `/${name}`;
  const config = testConfig({ DATABASE_URL: url.toString() });
  const db = createDb(config.database.url, {
    max: 6,
    applicationName: 'checkout-tests',
    timeouts: config.database.timeouts,
  });
  await migrate(db);
  return { config, db };
}

describe('outbox relay publish window', () => {
  let config: Config;
  let db: Db;
  let nc: NatsConnection;
  const orders = Array.from({ length: 60 }, () => randomUUID());
  const perOrder = 3;
  const expected = new Set<string>();
  /** Per order, the positions in the order their publishes were sent, and whether the predecessor was acked first. */
  const sent = new Map<string, number[]>();
  const outOfTurn: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;

  before(async () => {
    ({ config, db } = await dedicatedDatabase());
    nc = await connectTestNats(config, 'relay-window-test');
    const real = nc.jetstream();
    const acked = new Set<string>();
    const positionOf = new Map<string, { orderId: string; k: number }>();
    // Real publishes, each held 30 ms before it is sent, so claims happen while acks are awaited.
    const js: Pick<JetStreamClient, 'publish'> = {
      async publish(subject, payload, options) {
        const id = options?.msgID ?? '';
        const at = positionOf.get(id);
        if (at) {
          sent.set(at.orderId, [...(sent.get(at.orderId) ?? []), at.k]);
          const predecessor = [...positionOf].find(([, p]) => p.orderId === at.orderId && p.k === at.k - 1)?.[0];
          if (predecessor && !acked.has(predecessor)) outOfTurn.push(id);
        }
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          await sleep(30);
          const ack = await real.publish(subject, payload, options);
          acked.add(id);
          return ack;
        } finally {
          inFlight -= 1;
        }
      },
    };
    // All of an order's events in one transaction, orders interleaved: a claim of 10 rows cuts
    // through orders, so a later claim finds successors of rows still in flight.
    await withTransaction(db, async (tx) => {
      for (let k = 1; k <= perOrder; k += 1)
        for (const orderId of orders) {
          const id = await appendPositioned(tx, '/test/relay-window', orderId, k);
          expected.add(id);
          positionOf.set(id, { orderId, k });
        }
    });
    const relay = new OutboxRelay(
      { db, js, logger: createLogger('relay-window-test', process.env.LOG_LEVEL ?? 'error') },
      {
        batchSize: 10,
        windowSize: 40,
        pollIntervalMs: 50,
        rebalanceIntervalMs: 10_000,
        publishTimeoutMs: 5_000,
        retentionMs: 86_400_000,
      },
    );
    const controller = new AbortController();
    const running = relay.run(controller.signal);
    try {
      await eventually(
        async () => (relay.status().ownedPartitions.length === OUTBOX_PARTITIONS ? true : undefined),
        10_000,
        'the relay to own every partition',
      );
      await eventually(
        async () => {
          const { rows } = await db.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM outbox WHERE event_id = ANY($1::uuid[]) AND published_at IS NOT NULL',
            [[...expected]],
          );
          return rows[0]?.n === expected.size ? true : undefined;
        },
        30_000,
        'every row marked published',
      );
    } finally {
      controller.abort();
      await running;
    }
  });
  after(async () => {
    await nc?.drain();
    await db?.end();
  });

  it('keeps more publishes in flight than one claim holds, never more than the window', () => {
    assert.ok(maxInFlight > 10, `more than one claim of 10 in flight at once (max ${maxInFlight})`);
    assert.ok(maxInFlight <= 40, `never more than the window of 40 (max ${maxInFlight})`);
  });

  it('sends each order’s events in commit order, each after its predecessor’s ack', () => {
    assert.deepEqual(outOfTurn, [], 'no event was sent before its predecessor was acked');
    for (const orderId of orders)
      assert.deepEqual(sent.get(orderId), [1, 2, 3], `order ${orderId} sent in order, once each`);
  });
});
