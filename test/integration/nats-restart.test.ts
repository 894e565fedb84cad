import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createConsumer } from 'checkout-saga/events';
import type { Config } from '../../lib/config';
import { withTransaction, type Db } from '../../lib/db';
import { sleep } from '../../lib/wait';
import { stackDown, stackUp } from '../../scripts/stack/index';
import { runRelay } from '../../workers/relay';
import { createEffectsTable, effectsOf, recordEffect } from '../support/kit-effects';
import { connectTestNats } from '../support/nats';
import { appendPositioned } from '../support/outbox';
import { eventually, testConfig, testDb, testLogger } from '../support/services';

const quiet = () => undefined;

// Given a relay and a consumer of the kit, 15 rounds of events of 20 orders are written to the
// outbox; NATS is stopped after round 5 and started again after round 10.
describe('NATS restarted mid-stream (outbox → relay → JetStream → consumer kit)', () => {
  const orders = Array.from({ length: 20 }, () => randomUUID());
  const rounds = 15;
  const expected = orders.length * rounds;
  /** Event id -> its position in its order. */
  const positions = new Map<string, number>();
  let config: Config;
  let db: Db;
  let stateWhenStopped: string | undefined;
  let effects: Awaited<ReturnType<typeof effectsOf>> = [];

  before(async () => {
    config = testConfig();
    db = await testDb(config);
    await createEffectsTable(db);
    const name = `kit-restart-${randomUUID().slice(0, 8)}`;
    const logger = testLogger('nats-restart');
    const stop = new AbortController();
    const nc = await connectTestNats(config, 'nats-restart-test');
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
      for (let k = 1; k <= rounds; k += 1) {
        await withTransaction(db, async (tx) => {
          for (const orderId of orders) positions.set(await appendPositioned(tx, '/test/nats-restart', orderId, k), k);
        });
        if (k === 5) {
          const [down] = await stackDown(config, { only: ['nats'], say: quiet });
          stateWhenStopped = down?.state;
        }
        if (k === 10) await stackUp(config, { only: ['nats'], say: quiet });
        await sleep(100);
      }
      effects = await eventually(
        async () => {
          const rows = (await effectsOf(db, name)).filter((e) => positions.has(e.event_id));
          return rows.length >= expected ? rows : undefined;
        },
        90_000,
        `all ${expected} events applied after the restart`,
      );
    } finally {
      stop.abort();
      await Promise.allSettled(running);
      await nc.drain();
    }
  });
  after(async () => {
    // Whatever happened, leave NATS running for the next test file.
    await stackUp(config, { only: ['nats'], say: quiet });
    await db?.end();
  });

  it('really stopped the stack’s nats-server mid-stream', () => {
    assert.equal(
      stateWhenStopped,
      'stopped',
      'this test restarts NATS, so it needs the nats-server that `npm run stack:up` started',
    );
  });

  it('applies every event once', () => {
    assert.equal(new Set(effects.map((e) => e.event_id)).size, expected, 'no event applied twice');
    assert.equal(effects.length, expected);
  });

  it('keeps each order’s commit order in the stream', () => {
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
  });

  it('marks every row published', async () => {
    const { rows } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL',
      [[...positions.keys()]],
    );
    assert.equal(rows[0]?.n, 0, 'every row marked published');
  });
});
