import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  AckPolicy,
  DeliverPolicy,
  headers as natsHeaders,
  nanos,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from 'nats';
import { deadLetter, DLQ_HEADERS, DLQ_STREAM, dlqSubject } from '../../events/dead-letters/publish';
import {
  DeadLetterNotFound,
  discardDeadLetter,
  listDeadLetters,
  showDeadLetter,
  type DeadLetterEntry,
} from '../../events/dead-letters/admin';
import {
  REPLAYED_FROM_HEADER,
  replayAll,
  replayDeadLetter,
  ReplayPublishFailed,
} from '../../events/dead-letters/replay';
import { parseEvent } from '../../events/envelope';
import { repoRoot, type Config } from '../../lib/config';
import { connectTestNats } from '../support/nats';
import { testConfig } from '../support/services';

const run = promisify(execFile);
const SUBJECT = 'checkout.order.placed';

/** A checkout.order.placed event that passes the catalogue's schema, with a fresh id. */
function orderPlaced(): { id: string; traceparent: string; body: string } {
  const id = randomUUID();
  const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
  const body = JSON.stringify({
    specversion: '1.0',
    id,
    type: SUBJECT,
    source: '/test/dlq',
    subject: randomUUID(),
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    dataversion: 1,
    traceparent,
    data: {
      orderId: randomUUID(),
      customerId: 'cust-dlq-test',
      items: [{ sku: 'SKU-DLQ', name: 'DLQ test', quantity: 1, unitPriceCents: 500, lineTotalCents: 500 }],
      totalCents: 500,
      currency: 'USD',
      shippingAddress: { name: 'N', line1: 'L', city: 'C', postalCode: 'P', country: 'DE' },
      placedAt: new Date().toISOString(),
    },
  });
  return { id, traceparent, body };
}

describe('dead-letter tooling against real NATS', () => {
  let config: Config;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  // Unique per run and per test, so dead letters never mix with other runs', other tests' or the stack's.
  const runPrefix = `dlq-test-${randomUUID().slice(0, 8)}`;
  let consumerCount = 0;
  const freshConsumer = () => `${runPrefix}-${(consumerCount += 1)}`;
  const sourceConsumers: string[] = [];
  const encoder = new TextEncoder();

  before(async () => {
    config = testConfig();
    nc = await connectTestNats(config, 'dlq-test');
    js = nc.jetstream();
    jsm = await nc.jetstreamManager();
  });

  after(async () => {
    if (!jsm) return;
    for (const name of sourceConsumers) await jsm.consumers.delete('CHECKOUT', name).catch(() => undefined);
    for (const d of await listDeadLetters(jsm)) {
      if (d.consumer.startsWith(runPrefix)) await discardDeadLetter(jsm, d.seq).catch(() => undefined);
    }
    await nc.drain();
  });

  /**
   * Publishes a real event to CHECKOUT, receives exactly that message through a consumer of our
   * own that starts at its sequence (other tests publish to CHECKOUT too), and dead-letters it
   * with the real `deadLetter()`. Returns the event and its dead letter's entry.
   */
  async function deadLetterEvent(
    consumer: string,
    reason: string,
  ): Promise<{ event: ReturnType<typeof orderPlaced>; sourceSeq: number; entry: DeadLetterEntry }> {
    const event = orderPlaced();
    assert.equal(parseEvent(event.body).ok, true, 'the fixture must be a valid event');
    const h = natsHeaders();
    h.set('traceparent', event.traceparent);
    const ack = await js.publish(SUBJECT, encoder.encode(event.body), { msgID: event.id, headers: h });
    assert.equal(ack.stream, 'CHECKOUT');

    const name = `${runPrefix}-src-${sourceConsumers.length + 1}`;
    sourceConsumers.push(name);
    await jsm.consumers.add('CHECKOUT', {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: ack.seq,
      filter_subject: SUBJECT,
      // Removed by the server even if this test dies before its cleanup.
      inactive_threshold: nanos(120_000),
    });
    const msg = await (await js.consumers.get('CHECKOUT', name)).next({ expires: 5_000 });
    assert.ok(msg, `no message from consumer ${name}`);
    assert.equal(msg.seq, ack.seq);
    await deadLetter(js, msg, consumer, reason, new Date());
    await jsm.consumers.delete('CHECKOUT', name);

    const entry = (await listDeadLetters(jsm, { consumer })).find((d) => d.originalSequence === ack.seq);
    assert.ok(entry, `the dead letter of CHECKOUT #${ack.seq} is not listed`);
    return { event, sourceSeq: ack.seq, entry };
  }

  /** A dead letter written by hand whose original subject no stream stores. */
  async function unreplayableDeadLetter(consumer: string): Promise<number> {
    const event = orderPlaced();
    const h = natsHeaders();
    h.set('Nats-Msg-Id', event.id);
    h.set('traceparent', event.traceparent);
    h.set(DLQ_HEADERS.consumer, consumer);
    h.set(DLQ_HEADERS.error, 'simulated');
    h.set(DLQ_HEADERS.deliveryCount, '5');
    h.set(DLQ_HEADERS.subject, 'nostream.x.y');
    h.set(DLQ_HEADERS.time, new Date().toISOString());
    const ack = await js.publish(dlqSubject(consumer, 'nostream.x.y'), encoder.encode(event.body), { headers: h });
    assert.equal(ack.stream, DLQ_STREAM);
    return ack.seq;
  }

  describe('two dead letters of one consumer', () => {
    const consumer = freshConsumer();
    let consumersBefore: Set<string>;
    let startedAt = 0;
    let first: Awaited<ReturnType<typeof deadLetterEvent>>;
    let second: Awaited<ReturnType<typeof deadLetterEvent>>;

    before(async () => {
      consumersBefore = new Set((await jsm.consumers.list(DLQ_STREAM).next()).map((c) => c.name));
      startedAt = Date.now();
      first = await deadLetterEvent(consumer, 'invalid-data: totalCents: expected number');
      second = await deadLetterEvent(consumer, 'boom');
    });
    after(async () => {
      await discardDeadLetter(jsm, first.entry.seq);
      await discardDeadLetter(jsm, second.entry.seq);
    });

    it('lists a dead letter with its headers parsed', () => {
      const { event, sourceSeq, entry } = first;
      assert.deepEqual(
        { ...entry, time: undefined, seq: undefined },
        {
          seq: undefined,
          time: undefined,
          consumer,
          originalSubject: SUBJECT,
          originalStream: 'CHECKOUT',
          originalSequence: sourceSeq,
          deliveryCount: 1,
          error: 'invalid-data: totalCents: expected number',
          eventId: event.id,
          eventType: SUBJECT,
          eventSubject: (JSON.parse(event.body) as { subject: string }).subject,
        },
      );
      assert.ok(
        entry.time.getTime() >= startedAt - 5_000 && entry.time.getTime() <= Date.now() + 5_000,
        `odd time ${entry.time.toISOString()}`,
      );
    });

    it('lists them oldest first, and a limit keeps the oldest', async () => {
      assert.deepEqual(
        (await listDeadLetters(jsm, { consumer })).map((d) => d.seq),
        [first.entry.seq, second.entry.seq],
        'oldest first',
      );
      assert.deepEqual(
        (await listDeadLetters(jsm, { consumer, limit: 1 })).map((d) => d.seq),
        [first.entry.seq],
      );
    });

    it('lists only the named consumer’s, and every consumer’s when none is named', async () => {
      assert.deepEqual(await listDeadLetters(jsm, { consumer: `${consumer}-other` }), []);
      assert.ok(
        (await listDeadLetters(jsm)).some((d) => d.seq === first.entry.seq),
        'unfiltered list includes it',
      );
    });

    // Last: every listing above has run by now.
    it('leaves no consumer on the DLQ stream after listing', async () => {
      const consumersAfter = (await jsm.consumers.list(DLQ_STREAM).next())
        .map((c) => c.name)
        .filter((n) => !consumersBefore.has(n));
      assert.deepEqual(consumersAfter, [], 'listing must not leave consumers behind');
    });
  });

  it('shows every header and the body', async () => {
    const consumer = freshConsumer();
    const { event, entry } = await deadLetterEvent(consumer, 'handler failed');
    const d = await showDeadLetter(jsm, entry.seq);
    assert.equal(d.body, event.body);
    assert.equal(d.subject, dlqSubject(consumer, SUBJECT));
    // deadLetter() publishes with its own msgID, which replaces the copied Nats-Msg-Id.
    assert.deepEqual(d.headers['Nats-Msg-Id'], [`dlq:${consumer}:CHECKOUT:${d.originalSequence}`]);
    assert.equal(d.eventId, event.id);
    assert.deepEqual(d.headers['traceparent'], [event.traceparent]);
    assert.deepEqual(d.headers[DLQ_HEADERS.consumer], [consumer]);
    assert.deepEqual(d.headers[DLQ_HEADERS.error], ['handler failed']);
    assert.ok(d.headers[DLQ_HEADERS.time], 'Dlq-Time header');
    await discardDeadLetter(jsm, entry.seq);
  });

  it('replays to the original subject with a new Nats-Msg-Id, then removes the dead letter', async () => {
    const consumer = freshConsumer();
    const { event, entry } = await deadLetterEvent(consumer, 'db down');
    const r = await replayDeadLetter(js, jsm, entry.seq);
    assert.equal(r.subject, SUBJECT);
    assert.equal(r.stream, 'CHECKOUT');
    assert.equal(r.duplicate, false);

    const replayed = await jsm.streams.getMessage('CHECKOUT', { seq: r.streamSequence });
    assert.equal(replayed.subject, SUBJECT);
    assert.equal(replayed.string(), event.body);
    assert.equal(replayed.header.get('Nats-Msg-Id'), `replay:${entry.seq}`);
    assert.equal(replayed.header.get(REPLAYED_FROM_HEADER), String(entry.seq));
    assert.equal(replayed.header.get('traceparent'), event.traceparent);
    assert.equal(replayed.header.has(DLQ_HEADERS.consumer), false, 'Dlq-* headers are not replayed');
    assert.equal(replayed.header.has(DLQ_HEADERS.error), false);

    await assert.rejects(showDeadLetter(jsm, entry.seq), DeadLetterNotFound);
    assert.equal(
      (await listDeadLetters(jsm, { consumer })).some((d) => d.seq === entry.seq),
      false,
    );
    await assert.rejects(replayDeadLetter(js, jsm, entry.seq), DeadLetterNotFound);
  });

  it('a replay retried after publishing but before deleting is deduplicated by JetStream', async () => {
    const consumer = freshConsumer();
    const { event, entry } = await deadLetterEvent(consumer, 'crash mid-replay');
    // What an interrupted first attempt left behind: the replay published, the dead letter still there.
    const first = await js.publish(SUBJECT, encoder.encode(event.body), { msgID: `replay:${entry.seq}` });
    const r = await replayDeadLetter(js, jsm, entry.seq);
    assert.equal(r.duplicate, true);
    assert.equal(r.streamSequence, first.seq, 'no second copy in CHECKOUT');
    await assert.rejects(showDeadLetter(jsm, entry.seq), DeadLetterNotFound);
  });

  it('discards a dead letter; unknown sequences are DeadLetterNotFound', async () => {
    const consumer = freshConsumer();
    const { event, entry } = await deadLetterEvent(consumer, 'not wanted');
    const gone = await discardDeadLetter(jsm, entry.seq);
    assert.equal(gone.eventId, event.id);
    await assert.rejects(showDeadLetter(jsm, entry.seq), DeadLetterNotFound);
    await assert.rejects(discardDeadLetter(jsm, entry.seq), DeadLetterNotFound);
    const info = await jsm.streams.info(DLQ_STREAM);
    await assert.rejects(showDeadLetter(jsm, info.state.last_seq + 1_000_000), DeadLetterNotFound);
  });

  it('keeps a dead letter whose replay cannot be published, and replayAll carries on past it', async () => {
    const consumer = freshConsumer();
    const badSeq = await unreplayableDeadLetter(consumer);
    const kept = await showDeadLetter(jsm, badSeq);
    await assert.rejects(replayDeadLetter(js, jsm, badSeq), (err: unknown) => {
      assert.ok(err instanceof ReplayPublishFailed, `expected ReplayPublishFailed, got ${String(err)}`);
      assert.match(err.message, /nostream\.x\.y/);
      assert.match(err.message, /kept/);
      return true;
    });
    assert.equal((await showDeadLetter(jsm, badSeq)).body, kept.body, 'the dead letter is still there, unchanged');

    const good = await deadLetterEvent(consumer, 'transient');
    const seen: number[] = [];
    const outcomes = await replayAll(js, jsm, { consumer }, (o) => seen.push(o.seq));
    assert.deepEqual(
      outcomes.map((o) => [o.seq, o.ok]),
      [
        [badSeq, false],
        [good.entry.seq, true],
      ],
    );
    assert.deepEqual(seen, [badSeq, good.entry.seq], 'progress is reported per message');
    const failed = outcomes[0];
    assert.ok(failed && !failed.ok && failed.error instanceof ReplayPublishFailed);
    assert.deepEqual(
      (await listDeadLetters(jsm, { consumer })).map((d) => d.seq),
      [badSeq],
    );
    await discardDeadLetter(jsm, badSeq);
  });

  it('the CLI lists dead letters as JSON and reports an unknown sequence with exit status 1', async () => {
    const consumer = freshConsumer();
    const { entry } = await deadLetterEvent(consumer, 'cli');
    const env = { ...process.env, NATS_URL: config.nats.servers.join(','), LOG_LEVEL: 'warn' };
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'scripts/dlq.ts', ...args], { cwd: repoRoot, env, timeout: 60_000 });

    const { stdout } = await cli('list', '--consumer', consumer, '--json');
    const listed = JSON.parse(stdout) as Record<string, unknown>[];
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.seq, entry.seq);
    assert.equal(listed[0]?.consumer, consumer);
    assert.equal(listed[0]?.originalSubject, SUBJECT);
    assert.equal(listed[0]?.error, 'cli');
    assert.equal(listed[0]?.time, entry.time.toISOString());

    await assert.rejects(cli('show', String(entry.seq + 1_000_000_000)), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr ?? '', /no dead letter with sequence/);
      return true;
    });
    await assert.rejects(cli('replay'), (err: { code?: number }) => err.code === 2);
    await discardDeadLetter(jsm, entry.seq);
  });

  it('lists one order’s dead letters with --order, and show names the order, its saga and its Web UI link', async () => {
    const consumer = freshConsumer();
    const first = await deadLetterEvent(consumer, 'first');
    const second = await deadLetterEvent(consumer, 'second');
    const orderOf = (body: string) => (JSON.parse(body) as { subject: string }).subject;
    const order = orderOf(first.event.body);
    assert.notEqual(order, orderOf(second.event.body));

    assert.deepEqual(
      (await listDeadLetters(jsm, { consumer, eventSubject: order })).map((d) => d.seq),
      [first.entry.seq],
      'the kit filters by CloudEvents subject',
    );
    const env = {
      ...process.env,
      NATS_URL: config.nats.servers.join(','),
      TEMPORAL_UI_URL: 'http://ui.example:8233',
      TEMPORAL_NAMESPACE: 'shop',
      LOG_LEVEL: 'warn',
    };
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'scripts/dlq.ts', ...args], { cwd: repoRoot, env, timeout: 60_000 });

    const listed = JSON.parse((await cli('list', '--order', order, '--json')).stdout) as Record<string, unknown>[];
    assert.deepEqual(
      listed.filter((d) => d.consumer === consumer).map((d) => [d.seq, d.orderId]),
      [[first.entry.seq, order]],
    );
    assert.ok(
      listed.every((d) => d.orderId === order),
      'no other order is listed',
    );
    const table = (await cli('list', '--order', order, '--consumer', consumer)).stdout;
    assert.match(table, /ORDER/);
    assert.ok(table.includes(order) && !table.includes(orderOf(second.event.body)), table);

    const shown = (await cli('show', String(first.entry.seq))).stdout;
    const workflowId = `checkout-${order}`;
    assert.ok(shown.includes(`order ${order}, saga workflow ${workflowId}`), shown);
    const link = `http://ui.example:8233/namespaces/shop/workflows?query=${encodeURIComponent(`WorkflowId="${workflowId}"`)}`;
    assert.ok(shown.includes(`Web UI ${link}`), shown);
    const json = JSON.parse((await cli('show', String(first.entry.seq), '--json')).stdout) as Record<string, unknown>;
    assert.deepEqual([json.orderId, json.workflowId, json.webUi], [order, workflowId, link]);

    await assert.rejects(cli('list', '--order', 'not an id'), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr ?? '', /--order needs an order id/);
      return true;
    });
    await assert.rejects(cli('show', '1', '--order', order), (err: { code?: number }) => err.code === 2);
    for (const { entry } of [first, second]) await discardDeadLetter(jsm, entry.seq);
  });
});
