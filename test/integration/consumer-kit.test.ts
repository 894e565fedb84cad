import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  createConsumer,
  DeadLetterNotFound,
  DLQ_HEADERS,
  replayDeadLetter,
  type ConsumerOptions,
  type ConsumerStats,
  type EventConsumer,
  type Handlers,
  type ParsedEvent,
} from 'checkout-saga/events';
import type { NatsConnection, PubAck, StoredMsg } from 'nats';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { orderEvent, publishEvent } from '../support/events';
import { createEffectsTable, effectsOf, recordEffect } from '../support/kit-effects';
import { RunningComponents } from '../support/components';
import { connectTestNats } from '../support/nats';
import { stopProcess, TestProcesses } from '../support/processes';
import { eventually, testConfig, testDb, testLogger } from '../support/services';

const uniqueName = (what: string) => `kit-${what}-${randomUUID().slice(0, 8)}`;

/** Handlers of `consumer` that record placed events, and completed ones only after their order's placed. */
const placedThenCompleted = (consumer: string): Handlers => ({
  'checkout.order.placed': (e, { tx }) => recordEffect(tx, consumer, e),
  'checkout.order.completed': {
    after: ['checkout.order.placed'],
    handle: (e, { tx }) => recordEffect(tx, consumer, e),
  },
});

// Every test runs in both modes of the kit (issue 15): one transaction per event, and batches.
for (const kitMode of ['per-event', 'batch'] as const)
  describe(`consumer kit against real NATS and Postgres (${kitMode} mode)`, () => {
    let config: Config;
    let db: Db;
    let nc: NatsConnection;
    const processes = new TestProcesses();
    const components = new RunningComponents();
    const logger = testLogger('consumer-kit');

    before(async () => {
      config = testConfig();
      db = await testDb(config);
      await createEffectsTable(db);
      nc = await connectTestNats(config, 'consumer-kit-test');
    });
    after(async () => {
      await components.stopAll();
      await processes.killAll();
      await nc?.drain();
      await db?.end();
    });

    /** Runs a consumer in this process until the test suite ends. */
    function start(options: Omit<ConsumerOptions, 'stream'> & { stream?: ConsumerOptions['stream'] }): EventConsumer {
      const consumer = createConsumer(
        { nc, db, logger },
        { stream: 'CHECKOUT', deliverFrom: new Date(), mode: kitMode, ...options },
      );
      components.add(consumer.run(components.signal));
      return consumer;
    }

    /** A consumer in its own process (test/support/kit-child.ts), so a test can SIGKILL it. */
    const startChild = (name: string, from: string, mode: string[] = []) =>
      processes.start('kit-child', 'test/support/kit-child.ts', {
        args: [name, from, ...mode],
        env: { DATABASE_URL: config.database.url, LOG_LEVEL: 'warn', KIT_MODE: kitMode },
      });

    async function deadLettersOf(consumer: string): Promise<StoredMsg[]> {
      const jsm = await nc.jetstreamManager();
      const out: StoredMsg[] = [];
      const info = await jsm.streams.info('DLQ', { subjects_filter: `dlq.${consumer}.>` });
      for (const subject of Object.keys(info.state.subjects ?? {})) {
        const last = await jsm.streams.getMessage('DLQ', { last_by_subj: subject });
        out.push(last);
      }
      return out;
    }

    const effectsOfEvent = async (consumer: string, eventId: string) =>
      (await effectsOf(db, consumer)).filter((e) => e.event_id === eventId).length;

    it('a duplicate publish (same Nats-Msg-Id) is stored once; a republish with a new id has no second effect', async () => {
      const name = uniqueName('dup');
      const js = nc.jetstream();
      const event = orderEvent('checkout.order.placed', randomUUID());
      const consumer = start({ name, handlers: { 'checkout.order.placed': (e, { tx }) => recordEffect(tx, name, e) } });
      const first = await publishEvent(js, event);
      const again = await publishEvent(js, event);
      assert.equal(again.duplicate, true);
      assert.equal(again.seq, first.seq, 'JetStream stored it once');
      await publishEvent(js, event, `republished-${randomUUID()}`);
      await eventually(
        async () => (consumer.stats().duplicates >= 1 ? true : undefined),
        20_000,
        'the republished copy to be seen',
      );
      assert.equal(await effectsOfEvent(name, event.id), 1);
    });

    describe('a consumer SIGKILLed between commit and ack, then restarted', () => {
      const name = uniqueName('kill');
      const events = Array.from({ length: 5 }, () => orderEvent('checkout.order.placed', randomUUID()));
      const mine = new Set(events.map((e) => e.id));
      let effectsOfKilled = 0;
      /** Effects of these events when all of them had first been applied, and once everything was acknowledged. */
      let firstSeen: unknown[] = [];
      let appliedAfterRestart: string[] = [];

      before(async () => {
        const from = new Date(Date.now() - 200).toISOString();
        const first = startChild(name, from, ['hang-after-commit']);
        const js = nc.jetstream();
        for (const e of events) await publishEvent(js, e);
        const line = await first.waitForLine((l) => l.startsWith('COMMITTED '), 60_000, 'the first commit');
        await stopProcess(first, 'SIGKILL');
        effectsOfKilled = await effectsOfEvent(name, line.slice('COMMITTED '.length));

        const second = startChild(name, from);
        firstSeen = await eventually(
          async () => {
            const rows = (await effectsOf(db, name)).filter((e) => mine.has(e.event_id));
            return rows.length >= events.length ? rows : undefined;
          },
          30_000,
          'every event applied after the restart',
        );
        // Give the redelivery of the killed message (ack wait 2 s) time to arrive and be deduplicated.
        await eventually(
          async () => {
            const jsm = await nc.jetstreamManager();
            const info = await jsm.consumers.info('CHECKOUT', name);
            return info.num_ack_pending === 0 && info.num_pending === 0 ? true : undefined;
          },
          30_000,
          'the consumer to acknowledge everything',
        );
        appliedAfterRestart = (await effectsOf(db, name)).filter((e) => mine.has(e.event_id)).map((e) => e.event_id);
        await stopProcess(second, 'SIGTERM');
      });

      it('keeps the effect it committed before the kill', () => {
        assert.equal(effectsOfKilled, 1, 'the effect committed before the kill');
      });

      it('acknowledges the redelivery with no second effect: one effect per event', () => {
        assert.deepEqual([...appliedAfterRestart].sort(), [...mine].sort(), 'one effect per event');
        assert.equal(firstSeen.length, events.length);
      });
    });

    describe('a poison event, with maxDeliver 3, among 20 good ones', () => {
      const name = uniqueName('poison');
      const poison = orderEvent('checkout.order.placed', randomUUID());
      let healed = false;
      let consumer: EventConsumer;
      let poisonAck: PubAck;
      let letter: StoredMsg;
      let poisonEffects = -1;
      let stats: ConsumerStats;

      before(async () => {
        consumer = start({
          name,
          maxDeliver: 3,
          backoffMs: [200],
          handlers: {
            'checkout.order.placed': async (e, { tx }) => {
              if (e.id === poison.id && !healed) throw new Error('cannot project this order');
              await recordEffect(tx, name, e);
            },
          },
        });
        const js = nc.jetstream();
        poisonAck = await publishEvent(js, poison);
        const good = Array.from({ length: 20 }, () => orderEvent('checkout.order.placed', randomUUID()));
        for (const e of good) await publishEvent(js, e);
        const goodIds = new Set(good.map((e) => e.id));
        // The good events flowing while the poison one is retried is the first thing asserted here.
        await eventually(
          async () => {
            const rows = (await effectsOf(db, name)).filter((e) => goodIds.has(e.event_id));
            return rows.length === good.length ? rows : undefined;
          },
          20_000,
          'the good events to be applied',
        );
        [letter] = await eventually(
          async () => {
            const letters = await deadLettersOf(name);
            return letters.length > 0 ? (letters as [StoredMsg, ...StoredMsg[]]) : undefined;
          },
          20_000,
          'the poison dead letter',
        );
        poisonEffects = await effectsOfEvent(name, poison.id);
        stats = consumer.stats();
      });

      it('is dead-lettered with the headers that explain it and its original body', () => {
        assert.ok(letter);
        assert.equal(letter.subject, `dlq.${name}.checkout.order.placed`);
        assert.equal(letter.header.get(DLQ_HEADERS.consumer), name);
        assert.equal(letter.header.get(DLQ_HEADERS.deliveryCount), '3');
        assert.equal(letter.header.get(DLQ_HEADERS.error), 'cannot project this order');
        assert.equal(letter.header.get(DLQ_HEADERS.stream), 'CHECKOUT');
        assert.equal(letter.header.get(DLQ_HEADERS.streamSequence), String(poisonAck.seq));
        assert.equal(letter.header.get(DLQ_HEADERS.originalMsgId), poison.id);
        assert.equal(JSON.parse(new TextDecoder().decode(letter.data)).id, poison.id);
      });

      it('has no effect, after two retries and one dead letter', () => {
        assert.equal(poisonEffects, 0);
        assert.equal(stats.deadLettered, 1);
        assert.equal(stats.retried, 2);
      });

      // The bug is fixed; the operator replays the dead letter: applied once, and gone from the DLQ.
      describe('replayed once its handler is fixed', () => {
        before(async () => {
          healed = true;
          await replayDeadLetter(nc.jetstream(), await nc.jetstreamManager(), letter.seq);
        });

        it('is applied', async () => {
          await eventually(
            async () => ((await effectsOfEvent(name, poison.id)) > 0 ? true : undefined),
            20_000,
            'the replayed event to be applied',
          );
        });

        it('is gone from the DLQ: a second replay finds nothing', async () => {
          await assert.rejects(
            replayDeadLetter(nc.jetstream(), await nc.jetstreamManager(), letter.seq),
            DeadLetterNotFound,
          );
          assert.deepEqual(await deadLettersOf(name), []);
        });

        it('a later copy of it is deduplicated: one effect in all', async () => {
          await publishEvent(nc.jetstream(), poison, `another-copy-${randomUUID()}`);
          await eventually(
            async () => (consumer.stats().duplicates >= 1 ? true : undefined),
            20_000,
            'a later copy to be deduplicated',
          );
          assert.equal(await effectsOfEvent(name, poison.id), 1);
        });
      });
    });

    it('an event failing its schema goes to the DLQ at once', async () => {
      const name = uniqueName('schema');
      const consumer = start({ name, handlers: { 'checkout.order.placed': (e, { tx }) => recordEffect(tx, name, e) } });
      const broken = orderEvent('checkout.order.placed', randomUUID());
      const body = JSON.stringify({
        ...broken,
        data: { ...(broken.data as Record<string, unknown>), totalCents: 'lots' },
      });
      await publishEvent(nc.jetstream(), { type: 'checkout.order.placed', body, msgId: broken.id });
      const letters = await eventually(
        async () => {
          const l = await deadLettersOf(name);
          return l.length > 0 ? l : undefined;
        },
        20_000,
        'the invalid event in the DLQ',
      );
      assert.equal(letters[0]?.header.get(DLQ_HEADERS.deliveryCount), '1');
      assert.match(letters[0]?.header.get(DLQ_HEADERS.error) ?? '', /^invalid-data: .*totalCents/);
      assert.equal(consumer.stats().deadLettered, 1);
    });

    it('an event of a type it does not know is acknowledged and counted, not dead-lettered', async () => {
      const name = uniqueName('future');
      const future = Object.assign(orderEvent('checkout.order.placed', randomUUID()), {
        type: 'checkout.order.gift_wrapped',
      });
      // From just before this publish: the other mode's run of this test publishes the same subject,
      // and under a fast run it is only a few seconds older.
      const publishedFrom = new Date();
      await publishEvent(nc.jetstream(), {
        type: 'checkout.order.gift_wrapped',
        body: JSON.stringify(future),
        msgId: future.id,
      });
      const unknown = start({
        name,
        filterSubjects: ['checkout.order.gift_wrapped'],
        deliverFrom: publishedFrom,
        handlers: { 'checkout.order.placed': (e, { tx }) => recordEffect(tx, name, e) },
      });
      await eventually(
        async () => (unknown.stats().unknownTypes === 1 ? true : undefined),
        20_000,
        'the unknown type to be skipped',
      );
      assert.equal(unknown.stats().deadLettered, 0);
    });

    describe('an event that arrives before its predecessor', () => {
      const name = uniqueName('park');
      const orderId = randomUUID();
      let consumer: EventConsumer;

      before(async () => {
        consumer = start({ name, handlers: placedThenCompleted(name) });
        await publishEvent(nc.jetstream(), orderEvent('checkout.order.completed', orderId));
        await eventually(
          async () => (consumer.stats().parked === 1 ? true : undefined),
          20_000,
          'the early event to be parked',
        );
      });

      it('is parked, waiting for its predecessor, with no effect', async () => {
        assert.equal(
          (await effectsOf(db, name)).filter((e) => e.order_id === orderId).length,
          0,
          'nothing applied while its predecessor is missing',
        );
        const { rows } = await db.query('SELECT waiting_for FROM parked_events WHERE consumer = $1 AND order_id = $2', [
          name,
          orderId,
        ]);
        assert.deepEqual(rows, [{ waiting_for: ['checkout.order.placed'] }]);
      });

      it('is applied right after its predecessor arrives, in order, and leaves nothing parked', async () => {
        await publishEvent(nc.jetstream(), orderEvent('checkout.order.placed', orderId));
        const effects = await eventually(
          async () => {
            const e = (await effectsOf(db, name)).filter((x) => x.order_id === orderId);
            return e.length === 2 ? e : undefined;
          },
          20_000,
          'both events applied',
        );
        assert.deepEqual(
          effects.map((e) => e.type),
          ['checkout.order.placed', 'checkout.order.completed'],
        );
        assert.equal((await db.query('SELECT 1 FROM parked_events WHERE consumer = $1', [name])).rowCount, 0);
        assert.equal(consumer.stats().unparked, 1);
      });
    });

    it('a parked event whose predecessor never comes is dead-lettered after maxParked', async () => {
      const name = uniqueName('expire');
      const consumer = start({ name, handlers: placedThenCompleted(name) });
      const orphan = orderEvent('checkout.order.completed', randomUUID());
      await publishEvent(nc.jetstream(), orphan);
      await eventually(
        async () => (consumer.stats().parked === 1 ? true : undefined),
        20_000,
        'the orphan to be parked',
      );
      assert.equal(await consumer.expireParked(0), 1);
      const [letter] = await deadLettersOf(name);
      assert.equal(letter?.subject, `dlq.${name}.checkout.order.completed`);
      assert.match(letter?.header.get(DLQ_HEADERS.error) ?? '', /waiting for checkout\.order\.placed/);
      assert.equal((await db.query('SELECT 1 FROM parked_events WHERE consumer = $1', [name])).rowCount, 0);
    });

    describe('three rounds of events of 8 orders, with concurrency 4', () => {
      const name = uniqueName('serial');
      const orders = Array.from({ length: 8 }, () => randomUUID());
      const published: string[] = [];
      const active = new Map<string, number>();
      let maxParallel = 0;
      let overlapsWithinOrder = 0;
      let effects: Awaited<ReturnType<typeof effectsOf>> = [];

      before(async () => {
        const track = async (e: ParsedEvent, tx: Parameters<typeof recordEffect>[0]) => {
          const n = (active.get(e.subject) ?? 0) + 1;
          active.set(e.subject, n);
          if (n > 1) overlapsWithinOrder += 1;
          maxParallel = Math.max(
            maxParallel,
            [...active.values()].reduce((a, b) => a + b, 0),
          );
          await new Promise((resolve) => setTimeout(resolve, 20));
          await recordEffect(tx, name, e);
          active.set(e.subject, (active.get(e.subject) ?? 1) - 1);
        };
        start({
          name,
          concurrency: 4,
          handlers: {
            'checkout.order.placed': (e, { tx }) => track(e, tx),
            'checkout.order.completed': (e, { tx }) => track(e, tx),
          },
        });
        const js = nc.jetstream();
        for (let round = 0; round < 3; round += 1) {
          for (const id of orders) {
            const e = orderEvent(round === 0 ? 'checkout.order.placed' : 'checkout.order.completed', id);
            await publishEvent(js, e);
            published.push(e.id);
          }
        }
        effects = await eventually(
          async () => {
            const e = await effectsOf(db, name);
            return e.length === published.length ? e : undefined;
          },
          30_000,
          'all events applied',
        );
      });

      it('never runs two handlers of one order at once', () => {
        assert.equal(overlapsWithinOrder, 0, 'never two handlers of one order at once');
      });

      it('runs different orders in parallel, within the concurrency limit', () => {
        assert.ok(maxParallel > 1 && maxParallel <= 4, `orders ran in parallel within the limit (max ${maxParallel})`);
      });

      it('applies each order’s events in stream order', () => {
        for (const id of orders) {
          const order = (ev: { event_id: string }) => published.indexOf(ev.event_id);
          const applied = effects.filter((e) => e.order_id === id).map(order);
          assert.deepEqual(
            applied,
            [...applied].sort((a, b) => a - b),
            `order ${id} applied in stream order`,
          );
        }
      });
    });
  });
