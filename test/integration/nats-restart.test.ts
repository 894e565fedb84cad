import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createConsumer } from 'checkout-saga/events';
import type { Config } from '../../lib/config';
import { withTransaction, type Db } from '../../lib/db';
import { connectNats, declareStreams } from '../../lib/nats';
import { randomIds, systemClock } from '../../lib/runtime';
import { sleep } from '../../lib/wait';
import { appendEvent } from '../../outbox/append';
import { stackDown, stackUp } from '../../scripts/stack/index';
import { runRelay } from '../../workers/relay';
import { createEffectsTable, effectsOf, recordEffect } from '../support/kit-effects';
import { eventually, testConfig, testDb, testLogger } from '../support/services';

const quiet = () => undefined;

describe('NATS restarted mid-stream (outbox → relay → JetStream → consumer kit)', () => {
  let config: Config;
  let db: Db;

  before(async () => {
    config = testConfig();
    db = await testDb(config);
    await createEffectsTable(db);
  });
  after(async () => {
    // Whatever happened, leave NATS running for the next test file.
    await stackUp(config, { only: ['nats'], say: quiet });
    await db?.end();
  });

  it('loses nothing: every event reaches the stream in commit order per order and is applied once', async () => {
    const name = `kit-restart-${randomUUID().slice(0, 8)}`;
    const logger = testLogger('nats-restart');
    const stop = new AbortController();
    const nc = await connectNats(config.nats, 'nats-restart-test');
    await declareStreams(nc, config.nats);
    const consumer = createConsumer(
      { nc, db, logger },
      {
        name,
        stream: 'INVENTORY',
        deliverFrom: new Date(),
        handlers: {
          'inventory.stock.reserved': (e, { tx, message }) => recordEffect(tx, name, e, message.streamSequence),
        },
      },
    );
    const running = [runRelay(config, logger, stop.signal), consumer.run(stop.signal)];
    try {
      const orders = Array.from({ length: 20 }, () => randomUUID());
      const positions = new Map<string, number>();
      const rounds = 15;
      const deps = { clock: systemClock, ids: randomIds, source: '/test/nats-restart' };
      const traceparent = `00-${'5'.repeat(32)}-${'6'.repeat(16)}-01`;
      for (let k = 1; k <= rounds; k += 1) {
        await withTransaction(db, async (tx) => {
          for (const orderId of orders) {
            const env = await appendEvent(tx, deps, {
              orderId,
              traceparent,
              event: {
                type: 'inventory.stock.reserved',
                dataversion: 1,
                data: { orderId, items: [{ sku: 'SEQ', quantity: k }], reservedAt: new Date().toISOString() },
              },
            });
            positions.set(env.id, k);
          }
        });
        if (k === 5) {
          const [down] = await stackDown(config, { only: ['nats'], say: quiet });
          assert.equal(
            down?.state,
            'stopped',
            'this test restarts NATS, so it needs the nats-server that `npm run stack:up` started',
          );
        }
        if (k === 10) await stackUp(config, { only: ['nats'], say: quiet });
        await sleep(100);
      }
      const expected = orders.length * rounds;
      const effects = await eventually(
        async () => {
          const rows = (await effectsOf(db, name)).filter((e) => positions.has(e.event_id));
          return rows.length >= expected ? rows : undefined;
        },
        90_000,
        `all ${expected} events applied after the restart`,
      );
      assert.equal(new Set(effects.map((e) => e.event_id)).size, expected, 'no event applied twice');
      assert.equal(effects.length, expected);
      // The stream keeps each order's commit order (the relay's promise). The consumer applies each
      // event once; it may apply a redelivered event late, which is what `after` parking is for.
      for (const orderId of orders) {
        const ks = effects
          .filter((e) => e.order_id === orderId)
          .sort((a, b) => Number(a.stream_seq) - Number(b.stream_seq))
          .map((e) => positions.get(e.event_id));
        assert.deepEqual(
          ks,
          Array.from({ length: rounds }, (_, i) => i + 1),
          `order ${orderId} is in commit order in the stream`,
        );
      }
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM outbox WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL',
        [[...positions.keys()]],
      );
      assert.equal(rows[0]?.n, 0, 'every row marked published');
    } finally {
      stop.abort();
      await Promise.allSettled(running);
      await nc.drain();
    }
  });
});
