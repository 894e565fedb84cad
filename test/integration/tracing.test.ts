import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { NatsConnection } from 'nats';
import { createConsumer, EVENT_TYPES, streamFor, type HandlerFn, type Handlers } from 'checkout-saga/events';
import type { ParsedEvent } from '../../events/envelope';
import { STREAMS } from '../../events/streams';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { connectNats, declareStreams } from '../../lib/nats';
import { startTracing, type Tracing } from '../../lib/tracing';
import { runRelay } from '../../workers/relay';
import { runSagaWorker } from '../../workers/saga-worker';
import { startApi } from '../support/api';
import { eventually, testConfig, testDb } from '../support/services';

const TOKEN = 'trace-token-0123456789abcdef';

/** Log lines written by the processes under test, parsed back. */
class LogLines {
  readonly lines: Record<string, unknown>[] = [];
  write(chunk: string): void {
    for (const line of chunk.split('\n')) if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
  }
}

const spanId = (tp: string | undefined) => tp?.split('-')[2];
const traceIdOf = (tp: string | undefined) => tp?.split('-')[1];

describe('one trace from the HTTP request to every subscriber (real Postgres, NATS, Temporal; in-memory exporter)', () => {
  const exporter = new InMemorySpanExporter();
  const logs = new LogLines();
  const stop = new AbortController();
  const running: Promise<void>[] = [];
  const received = new Map<string, { event: ParsedEvent; traceparent: string | undefined }>();
  let tracing: Tracing;
  let config: Config;
  let db: Db;
  let nc: NatsConnection;
  let base = '';

  before(async () => {
    tracing = startTracing({ spanExporter: exporter }, 'tracing-test');
    config = testConfig({ API_TOKENS: TOKEN, PORT: '0' });
    db = await testDb(config);
    nc = await connectNats(config.nats, 'tracing-test');
    await declareStreams(nc, config.nats);
    const logger = createLogger('tracing-test', 'debug', logs);
    const since = new Date(Date.now() - 1_000);
    const api = startApi(config, logger, stop.signal);
    running.push(api.running);
    running.push(runSagaWorker(config, logger, stop.signal, tracing));
    running.push(runRelay(config, logger, stop.signal));
    const record: HandlerFn<ParsedEvent> = async (event, { message }) => {
      received.set(event.id, { event, traceparent: message.headers.traceparent?.[0] });
    };
    for (const stream of STREAMS.filter((s) => s.name !== 'DLQ')) {
      const handlers = Object.fromEntries(
        EVENT_TYPES.filter((t) => streamFor(t) === stream.name).map((t) => [t, record]),
      ) as Handlers;
      const consumer = createConsumer(
        { nc, db, logger },
        { name: `trace-${randomUUID().slice(0, 8)}`, stream: stream.name, handlers, deliverFrom: since },
      );
      running.push(consumer.run(stop.signal));
    }
    base = await api.base;
  });

  after(async () => {
    stop.abort();
    const results = await Promise.allSettled(running);
    for (const r of results) if (r.status === 'rejected') console.error('tracing test component failed:', r.reason);
    await tracing?.shutdown();
    await nc?.drain();
    await db?.end();
  });

  it('links API, workflow, activities, outbox row, relay publish and consumer handling by parent ids', async () => {
    // The caller's own trace: the API must continue it rather than start a new one.
    const callerTrace = randomUUID().replace(/-/g, '');
    const callerSpan = randomUUID().replace(/-/g, '').slice(0, 16);
    const res = await fetch(`${base}/checkouts`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': randomUUID(),
        traceparent: `00-${callerTrace}-${callerSpan}-01`,
      },
      body: JSON.stringify({
        customerId: 'cust-trace',
        items: [{ sku: 'SKU-001', quantity: 1 }],
        payment: { method: 'pm_card_visa' },
        shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
      }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { orderId } = (await res.json()) as { orderId: string };

    const completed = await eventually(
      async () =>
        [...received.values()].find((r) => r.event.subject === orderId && r.event.type === 'checkout.order.completed'),
      60_000,
      'checkout.order.completed to reach the test subscriber',
    );
    const charged = [...received.values()].find(
      (r) => r.event.subject === orderId && r.event.type === 'payments.payment.charged',
    );
    assert.ok(charged, 'payments.payment.charged received');
    // The consumer span ends after the handler returns, and the workflow's span leaves the
    // sandbox through a sink once the workflow task that completes it is done: wait for both.
    const spans = await eventually(
      async () => {
        const all = exporter.getFinishedSpans();
        const consumed = all.some(
          (s) => s.name === 'process checkout.order.completed' && s.attributes['checkout.order_id'] === orderId,
        );
        const workflowDone = all.some(
          (s) => s.name === 'RunWorkflow:checkoutSaga' && s.spanContext().traceId === callerTrace,
        );
        return consumed && workflowDone ? all : undefined;
      },
      10_000,
      'the consumer span of checkout.order.completed and the workflow span',
    );

    const inTrace = spans.filter((s) => s.spanContext().traceId === callerTrace);
    const byId = new Map(inTrace.map((s) => [s.spanContext().spanId, s]));
    const one = (name: string, match: (s: ReadableSpan) => boolean = () => true): ReadableSpan => {
      const found = inTrace.filter((s) => s.name === name && match(s));
      assert.equal(
        found.length,
        1,
        `exactly one span ${name} in the trace (names: ${[...new Set(inTrace.map((s) => s.name))].join(', ')})`,
      );
      return found[0]!;
    };
    const parentOf = (s: ReadableSpan) => s.parentSpanId;

    const server = one('POST /checkouts');
    assert.equal(server.kind, SpanKind.SERVER);
    assert.equal(parentOf(server), callerSpan, 'the API span continues the caller’s traceparent');

    const start = one('StartWorkflow:checkoutSaga');
    assert.equal(parentOf(start), server.spanContext().spanId);
    const run = one('RunWorkflow:checkoutSaga');
    assert.equal(parentOf(run), start.spanContext().spanId);
    const startCharge = one('StartActivity:chargePayment');
    assert.equal(parentOf(startCharge), run.spanContext().spanId);
    const runCharge = one('RunActivity:chargePayment');
    assert.equal(parentOf(runCharge), startCharge.spanContext().spanId);

    // The outbox row stores the traceparent of the transaction that wrote it: the activity's span.
    const { rows } = await db.query<{ headers: { traceparent: string }; envelope: { traceparent: string } }>(
      `SELECT headers, envelope FROM outbox WHERE partition_key = $1 AND subject = 'payments.payment.charged'`,
      [orderId],
    );
    assert.equal(rows.length, 1);
    assert.equal(spanId(rows[0]!.headers.traceparent), runCharge.spanContext().spanId);
    assert.equal(rows[0]!.envelope.traceparent, rows[0]!.headers.traceparent);

    // The relay's publish hangs under the writer; the NATS header names the publish span.
    const publish = one('publish payments.payment.charged', (s) => s.attributes['checkout.order_id'] === orderId);
    assert.equal(publish.kind, SpanKind.PRODUCER);
    assert.equal(parentOf(publish), runCharge.spanContext().spanId);
    assert.equal(spanId(charged.traceparent), publish.spanContext().spanId, 'traceparent header = publish span');
    assert.equal(charged.event.traceparent, rows[0]!.envelope.traceparent, 'envelope field = writer span');

    // Every consumer's handling span hangs under the publish of the message it handled.
    const process = one('process payments.payment.charged', (s) => s.attributes['checkout.order_id'] === orderId);
    assert.equal(process.kind, SpanKind.CONSUMER);
    assert.equal(parentOf(process), publish.spanContext().spanId);

    // The placed event is written by the API request itself.
    const placedPublish = one('publish checkout.order.placed', (s) => s.attributes['checkout.order_id'] === orderId);
    assert.equal(parentOf(placedPublish), server.spanContext().spanId);

    // Nothing of this order escaped into another trace, and every parent is in the trace.
    const ofOrder = spans.filter((s) => s.attributes['checkout.order_id'] === orderId);
    const { rows: outboxRows } = await db.query('SELECT 1 FROM outbox WHERE partition_key = $1', [orderId]);
    assert.equal(
      ofOrder.filter((s) => s.kind === SpanKind.PRODUCER).length,
      outboxRows.length,
      'one publish span per outbox row',
    );
    assert.equal(
      ofOrder.filter((s) => s.kind === SpanKind.CONSUMER).length,
      outboxRows.length,
      'one handling span per event',
    );
    for (const s of ofOrder) assert.equal(s.spanContext().traceId, callerTrace, `${s.name} is in the order's trace`);
    for (const s of inTrace)
      if (s !== server) assert.ok(byId.has(s.parentSpanId ?? ''), `${s.name}'s parent is in the trace`);
    assert.equal(traceIdOf(completed.traceparent), callerTrace);

    // Log lines of the order join up with the trace.
    const accepted = logs.lines.find((l) => l.msg === 'checkout accepted' && l.orderId === orderId);
    assert.ok(accepted, 'the API logged the accepted checkout');
    assert.equal(accepted.traceId, callerTrace);
    assert.equal(accepted.workflowId, `checkout-${orderId}`);
    const applied = logs.lines.filter((l) => l.orderId === orderId && l.msg === 'event applied');
    assert.equal(applied.length, outboxRows.length, 'one consumer line per event of the order');
    const published = logs.lines.filter((l) => l.orderId === orderId && l.msg === 'event published');
    assert.equal(published.length, outboxRows.length, 'one relay line per event of the order');
    for (const l of [...applied, ...published]) {
      assert.equal(l.traceId, callerTrace);
      assert.equal(typeof l.eventId, 'string');
    }
  });
});
