import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createConsumer, type ConsumerOptions, type EventConsumer } from 'checkout-saga/events';
import type { NatsConnection } from 'nats';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { sleep } from '../../lib/wait';
import { RunningComponents } from '../support/components';
import { orderEvent, publishEvent } from '../support/events';
import { createEffectsTable, effectsOf, recordEffect } from '../support/kit-effects';
import { connectTestNats } from '../support/nats';
import { stopProcess, TestProcesses } from '../support/processes';
import { eventually, testConfig, testDb, testLogger } from '../support/services';

// What batch mode adds to the kit's guarantees (issue 15): a batch is one transaction, so a crash
// inside it commits nothing of it; one poison event does not hold back the good ones around it;
// two instances handed the same event at once apply it once.

const uniqueName = (what: string) => `kit-batch-${what}-${randomUUID().slice(0, 8)}`;

describe('consumer kit batch mode against real NATS and Postgres', () => {
  let config: Config;
  let db: Db;
  let nc: NatsConnection;
  const processes = new TestProcesses();
  const components = new RunningComponents();
  const logger = testLogger('consumer-kit-batch');

  before(async () => {
    config = testConfig();
    db = await testDb(config);
    await createEffectsTable(db);
    nc = await connectTestNats(config, 'consumer-kit-batch-test');
  });
  after(async () => {
    await components.stopAll();
    await processes.killAll();
    await nc?.drain();
    await db?.end();
  });

  function start(options: Omit<ConsumerOptions, 'stream' | 'mode'>): EventConsumer {
    const consumer = createConsumer(
      { nc, db, logger },
      { stream: 'CHECKOUT', deliverFrom: new Date(), mode: 'batch', ...options },
    );
    components.add(consumer.run(components.signal));
    return consumer;
  }

  const effectCounts = async (name: string, ids: ReadonlySet<string>) => {
    const counts = new Map<string, number>();
    for (const e of await effectsOf(db, name))
      if (ids.has(e.event_id)) counts.set(e.event_id, (counts.get(e.event_id) ?? 0) + 1);
    return counts;
  };

  describe('a poison event inside a batch of 40 good ones', () => {
    const name = uniqueName('poison');
    const good = Array.from({ length: 40 }, () => orderEvent('checkout.order.placed', randomUUID()));
    const poison = orderEvent('checkout.order.placed', randomUUID());
    /** Transaction id of each committed effect: events committed together share one. */
    const txOf = new Map<string, string>();
    const seenTx = new Map<string, string>();
    let consumer: EventConsumer;
    let goodCounts = new Map<string, number>();
    let poisonEffects = -1;

    before(async () => {
      const js = nc.jetstream();
      const since = new Date(Date.now() - 200);
      // Published before the consumer starts, the poison in the middle: the first pull is one batch.
      for (const e of [...good.slice(0, 20), poison, ...good.slice(20)]) await publishEvent(js, e);
      consumer = start({
        name,
        deliverFrom: since,
        maxDeliver: 2,
        backoffMs: [200],
        handlers: {
          'checkout.order.placed': async (e, { tx }) => {
            if (e.id === poison.id) throw new Error('cannot project this order');
            await recordEffect(tx, name, e);
            const { rows } = await tx.query<{ tx: string }>('SELECT txid_current()::text AS tx');
            seenTx.set(e.id, rows[0]?.tx ?? '');
          },
        },
        afterCommit: async (event) => {
          const tx = seenTx.get(event.id);
          if (tx) txOf.set(event.id, tx);
        },
      });
      await eventually(
        async () => (consumer.stats().deadLettered === 1 ? true : undefined),
        30_000,
        'the poison dead-lettered',
      );
      goodCounts = await effectCounts(name, new Set(good.map((e) => e.id)));
      poisonEffects = (await effectCounts(name, new Set([poison.id]))).get(poison.id) ?? 0;
    });

    it('applies every good event once, and the poison not at all', () => {
      assert.equal(goodCounts.size, good.length, 'every good event applied');
      assert.ok(
        [...goodCounts.values()].every((n) => n === 1),
        'once each',
      );
      assert.equal(poisonEffects, 0);
      assert.equal(consumer.stats().applied, good.length);
    });

    it('commits the good events in a few transactions, not one each', (t) => {
      const transactions = new Set(txOf.values());
      t.diagnostic(`${good.length} good events committed in ${transactions.size} transactions`);
      assert.ok(transactions.size < good.length / 2, `batched (${transactions.size} transactions)`);
    });
  });

  describe('a consumer SIGKILLed in the middle of a batch, then restarted', () => {
    const name = uniqueName('crash');
    const events = Array.from({ length: 12 }, () => orderEvent('checkout.order.placed', randomUUID()));
    const ids = new Set(events.map((e) => e.id));
    let committedBeforeKill = -1;
    let hangingCommitted = -1;
    let counts = new Map<string, number>();

    before(async () => {
      const from = new Date(Date.now() - 200).toISOString();
      const js = nc.jetstream();
      for (const e of events) await publishEvent(js, e);
      const env = { DATABASE_URL: config.database.url, LOG_LEVEL: 'warn', KIT_MODE: 'batch' };
      const first = processes.start('kit-child', 'test/support/kit-child.ts', {
        args: [name, from, 'hang-mid-batch'],
        env,
      });
      const line = await first.waitForLine((l) => l.startsWith('HANGING '), 60_000, 'a handler hanging mid-batch');
      committedBeforeKill = [...(await effectCounts(name, ids)).values()].reduce((a, b) => a + b, 0);
      await stopProcess(first, 'SIGKILL');
      hangingCommitted = (await effectCounts(name, new Set([line.slice('HANGING '.length)]))).size;
      const second = processes.start('kit-child', 'test/support/kit-child.ts', { args: [name, from], env });
      counts = await eventually(
        async () => {
          const c = await effectCounts(name, ids);
          return c.size === ids.size ? c : undefined;
        },
        30_000,
        'every event applied after the restart',
      );
      await sleep(2_500); // the killed batch's redelivery (ack wait 2 s) must find its marks
      counts = await effectCounts(name, ids);
      await stopProcess(second, 'SIGTERM');
    });

    it('had committed nothing of the batch it was in when killed', () => {
      assert.equal(hangingCommitted, 0, 'the hanging batch left no effect');
      assert.ok(committedBeforeKill < events.length, `${committedBeforeKill} effects before the kill`);
    });

    it('applies every event exactly once after the restart', () => {
      assert.equal(counts.size, events.length);
      assert.ok(
        [...counts.values()].every((n) => n === 1),
        'one effect per event',
      );
    });
  });

  describe('the same event delivered to two instances at the same moment', () => {
    const name = uniqueName('twins');
    const events = Array.from({ length: 30 }, () => orderEvent('checkout.order.placed', randomUUID()));
    const ids = new Set(events.map((e) => e.id));
    let instances: EventConsumer[] = [];
    let counts = new Map<string, number>();

    before(async () => {
      const handlers: ConsumerOptions['handlers'] = {
        'checkout.order.placed': async (e, { tx }) => {
          await recordEffect(tx, name, e);
          await sleep(5); // keeps the two instances' transactions overlapping
        },
      };
      instances = [start({ name, handlers }), start({ name, handlers })];
      const js = nc.jetstream();
      // Each event twice under different message ids: two messages the two instances pull at once.
      await Promise.all(events.flatMap((e) => [publishEvent(js, e), publishEvent(js, e, `twin-${e.id}`)]));
      await eventually(
        async () => {
          const s = instances.map((c) => c.stats());
          return s.reduce((n, x) => n + x.applied + x.duplicates, 0) === 2 * events.length ? true : undefined;
        },
        30_000,
        'both copies of every event settled',
      );
      counts = await effectCounts(name, ids);
    });

    it('applies each event once, whichever instance got which copy', (t) => {
      t.diagnostic(`applied by instance: ${instances.map((c) => c.stats().applied).join(' / ')}`);
      assert.equal(counts.size, events.length);
      assert.ok(
        [...counts.values()].every((n) => n === 1),
        'one effect per event',
      );
      assert.equal(
        instances.reduce((n, c) => n + c.stats().duplicates, 0),
        events.length,
        'every second copy a duplicate',
      );
    });
  });
});
