import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  createConsumer,
  DeadLetterNotFound,
  DLQ_HEADERS,
  replayDeadLetter,
  type ConsumerOptions,
  type EventConsumer,
  type ParsedEvent,
} from 'checkout-saga/events';
import type { NatsConnection, StoredMsg } from 'nats';
import { repoRoot, type Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { connectNats, declareStreams } from '../../lib/nats';
import { orderEvent, publishEvent } from '../support/events';
import { createEffectsTable, effectsOf, recordEffect } from '../support/kit-effects';
import { eventually, testConfig, testDb, testLogger } from '../support/services';

describe('consumer kit against real NATS and Postgres', () => {
  let config: Config;
  let db: Db;
  let nc: NatsConnection;
  const children: ChildProcess[] = [];
  const stops: AbortController[] = [];
  const runs: Promise<void>[] = [];
  const logger = testLogger('consumer-kit');

  before(async () => {
    config = testConfig();
    db = await testDb(config);
    await createEffectsTable(db);
    try {
      nc = await connectNats(config.nats, 'consumer-kit-test');
      await declareStreams(nc, config.nats);
    } catch (err) {
      throw new Error(
        `NATS is not reachable at ${config.nats.servers.join(',')} (${(err as Error).message}); run \`npm run stack:up\` first`,
      );
    }
  });
  after(async () => {
    for (const s of stops) s.abort();
    await Promise.allSettled(runs);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await nc?.drain();
    await db?.end();
  });

  /** Runs a consumer in this process until the test suite ends. */
  function start(options: Omit<ConsumerOptions, 'stream'> & { stream?: ConsumerOptions['stream'] }): EventConsumer {
    const consumer = createConsumer({ nc, db, logger }, { stream: 'CHECKOUT', deliverFrom: new Date(), ...options });
    const stop = new AbortController();
    stops.push(stop);
    runs.push(consumer.run(stop.signal));
    return consumer;
  }

  const uniqueName = (what: string) => `kit-${what}-${randomUUID().slice(0, 8)}`;

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
    const effects = (await effectsOf(db, name)).filter((e) => e.event_id === event.id);
    assert.equal(effects.length, 1);
  });

  it('a consumer SIGKILLed between commit and ack: the redelivery is acknowledged with no second effect', async () => {
    const name = uniqueName('kill');
    const from = new Date(Date.now() - 200).toISOString();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/kit-child.ts', name, from, 'hang-after-commit'],
      {
        cwd: repoRoot,
        env: { ...process.env, DATABASE_URL: config.database.url, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(child);
    const committed = new Promise<string>((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        const m = /COMMITTED (\S+)/.exec(chunk.toString());
        if (m?.[1]) resolve(m[1]);
      });
    });
    const orderIds = Array.from({ length: 5 }, () => randomUUID());
    const events = orderIds.map((id) => orderEvent('checkout.order.placed', id));
    const js = nc.jetstream();
    for (const e of events) await publishEvent(js, e);
    const killedAt = await committed;
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(
      (await effectsOf(db, name)).filter((e) => e.event_id === killedAt).length,
      1,
      'the effect committed before the kill',
    );

    const second = spawn(process.execPath, ['--import', 'tsx', 'test/support/kit-child.ts', name, from], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: config.database.url, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(second);
    const mine = new Set(events.map((e) => e.id));
    const effects = await eventually(
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
    const again = (await effectsOf(db, name)).filter((e) => mine.has(e.event_id));
    assert.deepEqual(again.map((e) => e.event_id).sort(), [...mine].sort(), 'one effect per event');
    assert.equal(effects.length, events.length);
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));
  });

  it('a poison event is dead-lettered after maxDeliver with its headers while later events flow; its replay is applied once', async () => {
    const name = uniqueName('poison');
    const poison = orderEvent('checkout.order.placed', randomUUID());
    let healed = false;
    const consumer = start({
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
    const poisonAck = await publishEvent(js, poison);
    const good = Array.from({ length: 20 }, () => orderEvent('checkout.order.placed', randomUUID()));
    for (const e of good) await publishEvent(js, e);
    const mine = new Set(good.map((e) => e.id));
    await eventually(
      async () => {
        const rows = (await effectsOf(db, name)).filter((e) => mine.has(e.event_id));
        return rows.length === good.length ? rows : undefined;
      },
      20_000,
      'the good events to be applied',
    );
    const [letter] = await eventually(
      async () => {
        const letters = await deadLettersOf(name);
        return letters.length > 0 ? letters : undefined;
      },
      20_000,
      'the poison dead letter',
    );
    assert.ok(letter);
    assert.equal(letter.subject, `dlq.${name}.checkout.order.placed`);
    assert.equal(letter.header.get(DLQ_HEADERS.consumer), name);
    assert.equal(letter.header.get(DLQ_HEADERS.deliveryCount), '3');
    assert.equal(letter.header.get(DLQ_HEADERS.error), 'cannot project this order');
    assert.equal(letter.header.get(DLQ_HEADERS.stream), 'CHECKOUT');
    assert.equal(letter.header.get(DLQ_HEADERS.streamSequence), String(poisonAck.seq));
    assert.equal(letter.header.get(DLQ_HEADERS.originalMsgId), poison.id);
    assert.equal(JSON.parse(new TextDecoder().decode(letter.data)).id, poison.id);
    assert.equal((await effectsOf(db, name)).filter((e) => e.event_id === poison.id).length, 0);
    assert.equal(consumer.stats().deadLettered, 1);
    assert.equal(consumer.stats().retried, 2);

    // The bug is fixed; the operator replays the dead letter: applied once, and gone from the DLQ.
    healed = true;
    const jsm = await nc.jetstreamManager();
    await replayDeadLetter(js, jsm, letter.seq);
    await eventually(
      async () => ((await effectsOf(db, name)).some((e) => e.event_id === poison.id) ? true : undefined),
      20_000,
      'the replayed event to be applied',
    );
    await assert.rejects(replayDeadLetter(js, jsm, letter.seq), DeadLetterNotFound);
    assert.deepEqual(await deadLettersOf(name), []);
    await publishEvent(js, poison, `another-copy-${randomUUID()}`);
    await eventually(
      async () => (consumer.stats().duplicates >= 1 ? true : undefined),
      20_000,
      'a later copy to be deduplicated',
    );
    assert.equal((await effectsOf(db, name)).filter((e) => e.event_id === poison.id).length, 1);
  });

  it('an event failing its schema goes to the DLQ at once; an unknown type is acknowledged and counted', async () => {
    const name = uniqueName('schema');
    const consumer = start({ name, handlers: { 'checkout.order.placed': (e, { tx }) => recordEffect(tx, name, e) } });
    const js = nc.jetstream();
    const broken = orderEvent('checkout.order.placed', randomUUID());
    const body = JSON.stringify({
      ...broken,
      data: { ...(broken.data as Record<string, unknown>), totalCents: 'lots' },
    });
    await publishEvent(js, { type: 'checkout.order.placed', body, msgId: broken.id });
    const future = Object.assign(orderEvent('checkout.order.placed', randomUUID()), {
      type: 'checkout.order.gift_wrapped',
    });
    await publishEvent(js, { type: 'checkout.order.gift_wrapped', body: JSON.stringify(future), msgId: future.id });
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
    const unknown = createConsumer(
      { nc, db, logger },
      {
        name: uniqueName('future'),
        stream: 'CHECKOUT',
        filterSubjects: ['checkout.order.gift_wrapped'],
        deliverFrom: new Date(Date.now() - 5_000),
        handlers: { 'checkout.order.placed': (e, { tx }) => recordEffect(tx, name, e) },
      },
    );
    const stop = new AbortController();
    stops.push(stop);
    runs.push(unknown.run(stop.signal));
    await eventually(
      async () => (unknown.stats().unknownTypes === 1 ? true : undefined),
      20_000,
      'the unknown type to be skipped',
    );
    assert.equal(unknown.stats().deadLettered, 0);
    assert.equal(consumer.stats().deadLettered, 1);
  });

  it('an event that arrives before its predecessor is parked, then applied right after it, in order', async () => {
    const name = uniqueName('park');
    const consumer = start({
      name,
      handlers: {
        'checkout.order.placed': (e, { tx }) => recordEffect(tx, name, e),
        'checkout.order.completed': {
          after: ['checkout.order.placed'],
          handle: (e, { tx }) => recordEffect(tx, name, e),
        },
      },
    });
    const orderId = randomUUID();
    const js = nc.jetstream();
    await publishEvent(js, orderEvent('checkout.order.completed', orderId));
    await eventually(
      async () => (consumer.stats().parked === 1 ? true : undefined),
      20_000,
      'the early event to be parked',
    );
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
    await publishEvent(js, orderEvent('checkout.order.placed', orderId));
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

  it('a parked event whose predecessor never comes is dead-lettered after maxParked', async () => {
    const name = uniqueName('expire');
    const consumer = start({
      name,
      handlers: {
        'checkout.order.placed': (e, { tx }) => recordEffect(tx, name, e),
        'checkout.order.completed': {
          after: ['checkout.order.placed'],
          handle: (e, { tx }) => recordEffect(tx, name, e),
        },
      },
    });
    const orphan = orderEvent('checkout.order.completed', randomUUID());
    await publishEvent(nc.jetstream(), orphan);
    await eventually(async () => (consumer.stats().parked === 1 ? true : undefined), 20_000, 'the orphan to be parked');
    assert.equal(await consumer.expireParked(0), 1);
    const [letter] = await deadLettersOf(name);
    assert.equal(letter?.subject, `dlq.${name}.checkout.order.completed`);
    assert.match(letter?.header.get(DLQ_HEADERS.error) ?? '', /waiting for checkout\.order\.placed/);
    assert.equal((await db.query('SELECT 1 FROM parked_events WHERE consumer = $1', [name])).rowCount, 0);
  });

  it('handles orders in parallel but each order serially, in stream order', async () => {
    const name = uniqueName('serial');
    const active = new Map<string, number>();
    let maxParallel = 0;
    let overlapsWithinOrder = 0;
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
    const orders = Array.from({ length: 8 }, () => randomUUID());
    const js = nc.jetstream();
    const published: string[] = [];
    for (let round = 0; round < 3; round += 1) {
      for (const id of orders) {
        const e = orderEvent(round === 0 ? 'checkout.order.placed' : 'checkout.order.completed', id);
        await publishEvent(js, e);
        published.push(e.id);
      }
    }
    const effects = await eventually(
      async () => {
        const e = await effectsOf(db, name);
        return e.length === published.length ? e : undefined;
      },
      30_000,
      'all events applied',
    );
    assert.equal(overlapsWithinOrder, 0, 'never two handlers of one order at once');
    assert.ok(maxParallel > 1 && maxParallel <= 4, `orders ran in parallel within the limit (max ${maxParallel})`);
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
