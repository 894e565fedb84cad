import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { NatsConnection } from 'nats';
import type { HandlerFn } from 'checkout-saga/events';
import type { ParsedEvent } from '../../events/envelope';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { startTracing, type Tracing } from '../../lib/tracing';
import { runRelay } from '../../workers/relay';
import { runSagaWorker } from '../../workers/saga-worker';
import { checkoutRequest, startApi } from '../support/api';
import { RunningComponents } from '../support/components';
import { watchEveryStream } from '../support/events';
import { connectTestNats } from '../support/nats';
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
  const components = new RunningComponents();
  const received = new Map<string, { event: ParsedEvent; traceparent: string | undefined }>();
  let tracing: Tracing;
  let config: Config;
  let db: Db;
  let nc: NatsConnection;
  let base = '';
  // The caller's own trace: the API must continue it rather than start a new one.
  const callerTrace = randomUUID().replace(/-/g, '');
  const callerSpan = randomUUID().replace(/-/g, '').slice(0, 16);
  let orderId = '';
  let completed: { event: ParsedEvent; traceparent: string | undefined };
  let charged: { event: ParsedEvent; traceparent: string | undefined };
  let spans: ReadableSpan[] = [];
  /** The spans of the caller's trace. */
  let inTrace: ReadableSpan[] = [];
  let outboxRowsOfOrder = 0;

  /** The one span named `name` (that `match` accepts) in the caller's trace. */
  const one = (name: string, match: (s: ReadableSpan) => boolean = () => true): ReadableSpan => {
    const found = inTrace.filter((s) => s.name === name && match(s));
    assert.equal(
      found.length,
      1,
      `exactly one span ${name} in the trace (names: ${[...new Set(inTrace.map((s) => s.name))].join(', ')})`,
    );
    return found[0]!;
  };
  const ofOrder = (s: ReadableSpan) => s.attributes['checkout.order_id'] === orderId;
  const parentOf = (s: ReadableSpan) => s.parentSpanId;

  before(async () => {
    tracing = startTracing({ spanExporter: exporter }, 'tracing-test');
    config = testConfig({ API_TOKENS: TOKEN, PORT: '0' });
    db = await testDb(config);
    nc = await connectTestNats(config, 'tracing-test');
    const logger = createLogger('tracing-test', 'debug', logs);
    const since = new Date(Date.now() - 1_000);
    const api = startApi(config, logger, components.signal);
    components.add(api.running, runSagaWorker(config, logger, components.signal, tracing));
    components.add(runRelay(config, logger, components.signal));
    const record: HandlerFn<ParsedEvent> = async (event, { message }) => {
      received.set(event.id, { event, traceparent: message.headers.traceparent?.[0] });
    };
    components.add(
      ...watchEveryStream({ nc, db, logger }, { prefix: 'trace', since, signal: components.signal }, record),
    );
    base = await api.base;
  });

  // When: one checkout, placed with the caller's traceparent, runs to completion.
  before(async () => {
    const res = await fetch(`${base}/checkouts`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': randomUUID(),
        traceparent: `00-${callerTrace}-${callerSpan}-01`,
      },
      body: JSON.stringify(checkoutRequest({ customerId: 'cust-trace' })),
    });
    assert.equal(res.status, 202, await res.clone().text());
    ({ orderId } = (await res.json()) as { orderId: string });

    completed = await eventually(
      async () =>
        [...received.values()].find((r) => r.event.subject === orderId && r.event.type === 'checkout.order.completed'),
      60_000,
      'checkout.order.completed to reach the test subscriber',
    );
    const chargedEvent = [...received.values()].find(
      (r) => r.event.subject === orderId && r.event.type === 'payments.payment.charged',
    );
    assert.ok(chargedEvent, 'payments.payment.charged received');
    charged = chargedEvent;
    // The consumer span ends after the handler returns, and the workflow's span leaves the
    // sandbox through a sink once the workflow task that completes it is done: wait for both.
    spans = await eventually(
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
    inTrace = spans.filter((s) => s.spanContext().traceId === callerTrace);
    outboxRowsOfOrder = (await db.query('SELECT 1 FROM outbox WHERE partition_key = $1', [orderId])).rows.length;
  });

  after(async () => {
    await components.stopAll();
    await tracing?.shutdown();
    await nc?.drain();
    await db?.end();
  });

  it('the API span continues the caller’s traceparent', () => {
    const server = one('POST /checkouts');
    assert.equal(server.kind, SpanKind.SERVER);
    assert.equal(parentOf(server), callerSpan, 'the API span continues the caller’s traceparent');
  });

  it('the workflow hangs under the request, and the charge activity under the workflow', () => {
    const start = one('StartWorkflow:checkoutSaga');
    assert.equal(parentOf(start), one('POST /checkouts').spanContext().spanId);
    const run = one('RunWorkflow:checkoutSaga');
    assert.equal(parentOf(run), start.spanContext().spanId);
    const startCharge = one('StartActivity:chargePayment');
    assert.equal(parentOf(startCharge), run.spanContext().spanId);
    const runCharge = one('RunActivity:chargePayment');
    assert.equal(parentOf(runCharge), startCharge.spanContext().spanId);
  });

  it('the outbox row stores the traceparent of the activity that wrote it, in its headers and envelope', async () => {
    const { rows } = await db.query<{ headers: { traceparent: string }; envelope: { traceparent: string } }>(
      `SELECT headers, envelope FROM outbox WHERE partition_key = $1 AND subject = 'payments.payment.charged'`,
      [orderId],
    );
    assert.equal(rows.length, 1);
    assert.equal(spanId(rows[0]!.headers.traceparent), one('RunActivity:chargePayment').spanContext().spanId);
    assert.equal(rows[0]!.envelope.traceparent, rows[0]!.headers.traceparent);
  });

  it('the relay’s publish hangs under the writer, and the NATS header names the publish span', async () => {
    const { rows } = await db.query<{ envelope: { traceparent: string } }>(
      `SELECT envelope FROM outbox WHERE partition_key = $1 AND subject = 'payments.payment.charged'`,
      [orderId],
    );
    const publish = one('publish payments.payment.charged', ofOrder);
    assert.equal(publish.kind, SpanKind.PRODUCER);
    assert.equal(parentOf(publish), one('RunActivity:chargePayment').spanContext().spanId);
    assert.equal(spanId(charged.traceparent), publish.spanContext().spanId, 'traceparent header = publish span');
    assert.equal(charged.event.traceparent, rows[0]!.envelope.traceparent, 'envelope field = writer span');
  });

  it('every consumer’s handling span hangs under the publish of the message it handled', () => {
    const process = one('process payments.payment.charged', ofOrder);
    assert.equal(process.kind, SpanKind.CONSUMER);
    assert.equal(parentOf(process), one('publish payments.payment.charged', ofOrder).spanContext().spanId);
  });

  it('the placed event is published under the API request that wrote it', () => {
    const placedPublish = one('publish checkout.order.placed', ofOrder);
    assert.equal(parentOf(placedPublish), one('POST /checkouts').spanContext().spanId);
  });

  it('one publish and one handling span per event, none outside the order’s trace, every parent in it', () => {
    const spansOfOrder = spans.filter(ofOrder);
    assert.equal(
      spansOfOrder.filter((s) => s.kind === SpanKind.PRODUCER).length,
      outboxRowsOfOrder,
      'one publish span per outbox row',
    );
    assert.equal(
      spansOfOrder.filter((s) => s.kind === SpanKind.CONSUMER).length,
      outboxRowsOfOrder,
      'one handling span per event',
    );
    for (const s of spansOfOrder)
      assert.equal(s.spanContext().traceId, callerTrace, `${s.name} is in the order's trace`);
    const server = one('POST /checkouts');
    const byId = new Map(inTrace.map((s) => [s.spanContext().spanId, s]));
    for (const s of inTrace)
      if (s !== server) assert.ok(byId.has(s.parentSpanId ?? ''), `${s.name}'s parent is in the trace`);
    assert.equal(traceIdOf(completed.traceparent), callerTrace);
  });

  it('the order’s log lines join up with the trace', () => {
    const accepted = logs.lines.find((l) => l.msg === 'checkout accepted' && l.orderId === orderId);
    assert.ok(accepted, 'the API logged the accepted checkout');
    assert.equal(accepted.traceId, callerTrace);
    assert.equal(accepted.workflowId, `checkout-${orderId}`);
    const applied = logs.lines.filter((l) => l.orderId === orderId && l.msg === 'event applied');
    assert.equal(applied.length, outboxRowsOfOrder, 'one consumer line per event of the order');
    const published = logs.lines.filter((l) => l.orderId === orderId && l.msg === 'event published');
    assert.equal(published.length, outboxRowsOfOrder, 'one relay line per event of the order');
    for (const l of [...applied, ...published]) {
      assert.equal(l.traceId, callerTrace);
      assert.equal(typeof l.eventId, 'string');
    }
  });
});
