import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DeliverPolicy, type NatsConnection } from 'nats';
import { createApp } from '../../api/app';
import { createHttpMetrics } from '../../api/metrics';
import type { HandlerFn } from 'checkout-saga/events';
import type { ParsedEvent } from '../../events/envelope';
import { STREAMS } from '../../events/streams';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { runNotifications } from '../../workers/notifications';
import { runReadModel } from '../../workers/read-model';
import { runRelay } from '../../workers/relay';
import { runSagaWorker } from '../../workers/saga-worker';
import { checkoutRequest, serviceTokenAccess, startApi } from '../support/api';
import { RunningComponents } from '../support/components';
import { watchEveryStream } from '../support/events';
import { loadJsonSchemaValidator } from '../support/json-schema-validator';
import { connectTestNats } from '../support/nats';
import { openApiValidator, type SeenResponse } from '../support/openapi-validator';
import { eventually, stockOf, testConfig, testDb, testLogger } from '../support/services';

const TOKEN = 'e2e-token-0123456789abcdef';

describe('checkout end to end (HTTP in, saga on the Temporal dev server, events out of JetStream)', () => {
  let config: Config;
  let db: Db;
  let nc: NatsConnection;
  let base = '';
  const components = new RunningComponents();
  /** Every event received for an order, with its NATS headers, in arrival order. */
  const realFetch = globalThis.fetch;
  const seen: SeenResponse[] = [];
  /** Orders this suite placed, whose events the last test validates as another team would. */
  const placedOrders = new Set<string>();
  let since = new Date();
  const events = new Map<
    string,
    { event: ParsedEvent; msgId: string | undefined; traceparent: string | undefined }[]
  >();

  before(async () => {
    config = testConfig({ API_TOKENS: TOKEN, PORT: '0' });
    db = await testDb(config);
    nc = await connectTestNats(config, 'e2e-test');
    const logger = testLogger('e2e');
    since = new Date(Date.now() - 1_000);
    const api = startApi(config, logger, components.signal);
    components.add(api.running, runSagaWorker(config, logger, components.signal));
    components.add(runRelay(config, logger, components.signal));
    const placement = (name: string) => ({ name: `${name}-${randomUUID().slice(0, 8)}`, deliverFrom: since });
    components.add(runReadModel(config, logger, components.signal, placement('e2e-read-model')));
    components.add(runNotifications(config, logger, components.signal, placement('e2e-notifications')));
    const record: HandlerFn<ParsedEvent> = async (event, { message }) => {
      const list = events.get(event.subject) ?? [];
      list.push({ event, msgId: message.headers['Nats-Msg-Id']?.[0], traceparent: message.headers.traceparent?.[0] });
      events.set(event.subject, list);
    };
    components.add(
      ...watchEveryStream({ nc, db, logger }, { prefix: 'e2e', since, signal: components.signal }, record),
    );
    base = await api.base;
    // Keep every response the suite gets from the API, to check it against the OpenAPI document.
    globalThis.fetch = async (input, init) => {
      const res = await realFetch(input, init);
      const url = String(input instanceof Request ? input.url : input);
      if (url.startsWith(base)) {
        seen.push({
          method: init?.method ?? (input instanceof Request ? input.method : 'GET'),
          path: url.slice(base.length),
          status: res.status,
          contentType: res.headers.get('Content-Type') ?? '',
          body: await res.clone().text(),
        });
      }
      return res;
    };
  });

  after(async () => {
    globalThis.fetch = realFetch;
    // Settle everything even if one part failed, so no process is left running.
    await components.stopAll();
    await nc?.drain();
    await db?.end();
  });

  const headers = (key?: string) => ({
    Authorization: `Bearer ${TOKEN}`,
    'Content-Type': 'application/json',
    ...(key ? { 'Idempotency-Key': key } : {}),
  });

  async function putSku(available: number, priceCents = 1250): Promise<string> {
    const sku = `E2E-${randomUUID().slice(0, 8)}`;
    const res = await fetch(`${base}/inventory/${sku}`, {
      method: 'PUT',
      headers: headers(),
      body: JSON.stringify({ name: `E2E ${sku}`, priceCents, available }),
    });
    assert.equal(res.status, 200);
    return sku;
  }

  const body = (sku: string, quantity: number, method = 'pm_card_visa', country = 'DE') =>
    checkoutRequest({ customerId: 'cust-e2e', sku, quantity, method, country });

  async function place(
    payload: unknown,
    key = randomUUID(),
  ): Promise<{ status: number; json: { orderId: string; status: string }; location: string | null }> {
    const res = await fetch(`${base}/checkouts`, {
      method: 'POST',
      headers: headers(key),
      body: JSON.stringify(payload),
    });
    if (res.status === 202) placedOrders.add(((await res.clone().json()) as { orderId: string }).orderId);
    return {
      status: res.status,
      json: (await res.json()) as { orderId: string; status: string },
      location: res.headers.get('Location'),
    };
  }

  async function settled(orderId: string): Promise<Record<string, unknown>> {
    return eventually(
      async () => {
        const res = await fetch(`${base}/checkouts/${orderId}`, { headers: headers() });
        const state = (await res.json()) as Record<string, unknown>;
        return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(String(state.status)) ? state : undefined;
      },
      60_000,
      `order ${orderId} to settle`,
    );
  }

  /** An event as the lists below name it: its type, and its version when that is not 1. */
  const labelOf = (event: { type: string; dataversion: number }) =>
    event.dataversion === 1 ? event.type : `${event.type} v${event.dataversion}`;

  /** The order's events once `last` (a label) arrived, sorted by label. */
  async function subjectsOf(orderId: string, last: string): Promise<string[]> {
    await eventually(
      async () => (events.get(orderId)?.some((e) => labelOf(e.event) === last) ? true : undefined),
      30_000,
      `${last} of ${orderId} on JetStream`,
    );
    const received = events.get(orderId) ?? [];
    for (const { event, msgId, traceparent } of received) {
      assert.equal(msgId, event.id, 'Nats-Msg-Id header is the event id');
      assert.equal(traceparent, event.traceparent, 'traceparent header matches the envelope');
      assert.equal(event.specversion, '1.0');
      assert.equal(event.datacontenttype, 'application/json');
      assert.equal(event.subject, orderId);
    }
    return received.map((e) => labelOf(e.event)).sort();
  }

  it('completes a checkout: 202 + Location, COMPLETED, catalog prices, stock shipped, every event on JetStream', async () => {
    const sku = await putSku(10, 1250);
    const placed = await place(body(sku, 2));
    assert.equal(placed.status, 202);
    assert.equal(placed.location, `/checkouts/${placed.json.orderId}`);
    const state = await settled(placed.json.orderId);
    assert.equal(state.status, 'COMPLETED');
    assert.equal(state.totalCents, 2500);
    assert.deepEqual(state.items, [{ sku, name: `E2E ${sku}`, quantity: 2, unitPriceCents: 1250 }]);
    assert.deepEqual(await stockOf(db, sku), { available: 8, reserved: 0, shipped: 2 });
    assert.deepEqual(await subjectsOf(placed.json.orderId, 'checkout.order.completed'), [
      'checkout.order.completed',
      'checkout.order.placed',
      'inventory.stock.reserved',
      'payments.payment.charged',
      'shipping.shipment.created',
    ]);
    const placedEvent = events.get(placed.json.orderId)?.find((e) => e.event.type === 'checkout.order.placed')?.event;
    assert.ok(placedEvent?.type === 'checkout.order.placed');
    assert.equal(placedEvent.data.totalCents, 2500);
    assert.equal(placedEvent.data.shippingAddress.city, 'Berlin');
  });

  // Each business failure: the saga ends FAILED with its reason, stock is back where it started,
  // and exactly the events of the steps that ran and their compensations reach JetStream, the
  // order's failure as checkout.order.failed v2 and, during v1's deprecation period, v1 too.
  const failures = [
    {
      title: 'fails OUT_OF_STOCK and leaves stock untouched',
      available: 1,
      order: { quantity: 2, method: 'pm_card_visa', country: 'DE' },
      reason: 'OUT_OF_STOCK',
      events: [
        'checkout.order.failed',
        'checkout.order.failed v2',
        'checkout.order.placed',
        'inventory.stock.reservation_failed',
      ],
    },
    {
      title: 'fails PAYMENT_DECLINED, releases the stock, publishes the compensation',
      available: 5,
      order: { quantity: 3, method: 'pm_card_declined', country: 'DE' },
      reason: 'PAYMENT_DECLINED',
      events: [
        'checkout.order.failed',
        'checkout.order.failed v2',
        'checkout.order.placed',
        'inventory.stock.released',
        'inventory.stock.reserved',
        'payments.payment.declined',
      ],
    },
    {
      title: 'fails SHIPPING_UNAVAILABLE for AQ after charging: refunds, releases, stock back where it started',
      available: 5,
      order: { quantity: 1, method: 'pm_card_visa', country: 'AQ' },
      reason: 'SHIPPING_UNAVAILABLE',
      events: [
        'checkout.order.failed',
        'checkout.order.failed v2',
        'checkout.order.placed',
        'inventory.stock.released',
        'inventory.stock.reserved',
        'payments.payment.charged',
        'payments.payment.refunded',
      ],
    },
  ];
  for (const f of failures) {
    it(f.title, async () => {
      const sku = await putSku(f.available);
      const placed = await place(body(sku, f.order.quantity, f.order.method, f.order.country));
      const state = await settled(placed.json.orderId);
      assert.equal(state.status, 'FAILED');
      assert.equal(state.failureReason, f.reason);
      assert.deepEqual(await stockOf(db, sku), { available: f.available, reserved: 0, shipped: 0 });
      assert.deepEqual(await subjectsOf(placed.json.orderId, 'checkout.order.failed'), f.events);
    });
  }

  it('pm_card_flaky completes with exactly one charge at the provider', async () => {
    const sku = await putSku(5);
    const placed = await place(body(sku, 1, 'pm_card_flaky'));
    const state = await settled(placed.json.orderId);
    assert.equal(state.status, 'COMPLETED');
    const { rows } = await db.query('SELECT status, attempts FROM sim_provider_charges WHERE idempotency_key = $1', [
      `order:${placed.json.orderId}:charge`,
    ]);
    assert.deepEqual(rows, [{ status: 'CHARGED', attempts: 3 }]);
  });

  async function statusOf(orderId: string, status: string): Promise<void> {
    await eventually(
      async () => {
        const res = await fetch(`${base}/checkouts/${orderId}`, { headers: headers() });
        return ((await res.json()) as { status: string }).status === status ? true : undefined;
      },
      30_000,
      `order ${orderId} to be ${status}`,
    );
  }
  const command = (orderId: string, action: 'cancel' | 'payment-confirmation', body?: unknown) =>
    fetch(`${base}/checkouts/${orderId}/${action}`, {
      method: 'POST',
      headers: headers(),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('pm_card_3ds: waits for POST payment-confirmation; approved completes with one charge, refused fails PAYMENT_DECLINED', async () => {
    const sku = await putSku(5);
    const approved = await place(body(sku, 1, 'pm_card_3ds'));
    const refused = await place(body(sku, 1, 'pm_card_3ds'));
    await statusOf(approved.json.orderId, 'AWAITING_PAYMENT_CONFIRMATION');
    await statusOf(refused.json.orderId, 'AWAITING_PAYMENT_CONFIRMATION');
    const bad = await command(approved.json.orderId, 'payment-confirmation', { approved: 'yes' });
    assert.equal(bad.status, 400);
    assert.equal((await command(approved.json.orderId, 'payment-confirmation', { approved: true })).status, 202);
    assert.equal((await command(refused.json.orderId, 'payment-confirmation', { approved: false })).status, 202);
    assert.equal((await settled(approved.json.orderId)).status, 'COMPLETED');
    const failed = await settled(refused.json.orderId);
    assert.deepEqual([failed.status, failed.failureReason], ['FAILED', 'PAYMENT_DECLINED']);
    const again = await command(approved.json.orderId, 'payment-confirmation', { approved: true });
    assert.equal(again.status, 409);
    assert.equal(again.headers.get('Content-Type'), 'application/problem+json');
    const { rows } = await db.query('SELECT status FROM sim_provider_charges WHERE idempotency_key = $1', [
      `order:${approved.json.orderId}:charge`,
    ]);
    assert.deepEqual(rows, [{ status: 'CHARGED' }]);
    assert.deepEqual(await stockOf(db, sku), { available: 4, reserved: 0, shipped: 1 });
    assert.deepEqual(await subjectsOf(refused.json.orderId, 'checkout.order.failed'), [
      'checkout.order.failed',
      'checkout.order.failed v2',
      'checkout.order.placed',
      'inventory.stock.released',
      'inventory.stock.reserved',
      'payments.payment.declined',
    ]);
  });

  it('POST cancel: accepted before shipping (compensated to CANCELLED), 409 once ended, 404 for an unknown order', async () => {
    const sku = await putSku(5);
    const placed = await place(body(sku, 2, 'pm_card_3ds'));
    await statusOf(placed.json.orderId, 'AWAITING_PAYMENT_CONFIRMATION');
    const cancel = await command(placed.json.orderId, 'cancel');
    assert.equal(cancel.status, 202);
    const state = await settled(placed.json.orderId);
    assert.equal(state.status, 'CANCELLED');
    assert.deepEqual(await stockOf(db, sku), { available: 5, reserved: 0, shipped: 0 });
    assert.deepEqual(await subjectsOf(placed.json.orderId, 'checkout.order.cancelled'), [
      'checkout.order.cancelled',
      'checkout.order.placed',
      'inventory.stock.released',
      'inventory.stock.reserved',
    ]);
    assert.equal((await command(placed.json.orderId, 'cancel')).status, 409);
    const completed = await place(body(sku, 1));
    await settled(completed.json.orderId);
    const late = await command(completed.json.orderId, 'cancel');
    assert.equal(late.status, 409);
    assert.equal((await command(randomUUID(), 'cancel')).status, 404);
    assert.equal((await command('not-a-uuid', 'cancel')).status, 404);
  });

  describe('a customer with a completed, a declined and an unshippable order', () => {
    const customerId = `cust-rm-${randomUUID().slice(0, 8)}`;
    let ids: string[] = [];
    /** The customer's orders as GET /orders lists them once the read model has caught up. */
    let all: Page;
    type Page = {
      items: { orderId: string; status: string; failureReason?: string; totalCents: number }[];
      nextCursor: string | null;
    };
    const list = async (query: string): Promise<Page> => {
      const res = await fetch(`${base}/orders?${query}`, { headers: headers() });
      assert.equal(res.status, 200);
      return (await res.json()) as Page;
    };

    before(async () => {
      const sku = await putSku(10);
      const completed = await place({ ...body(sku, 1), customerId });
      const declined = await place({ ...body(sku, 1, 'pm_card_declined'), customerId });
      const unshippable = await place({ ...body(sku, 1, 'pm_card_visa', 'AQ'), customerId });
      ids = [completed, declined, unshippable].map((p) => p.json.orderId);
      for (const id of ids) await settled(id);
      all = await eventually(
        async () => {
          const page = await list(`customerId=${customerId}&limit=10`);
          return page.items.length === 3 && page.items.every((o) => o.status !== 'PENDING') ? page : undefined;
        },
        30_000,
        'the read model to catch up',
      );
    });

    it('GET /orders lists them newest first, each with its outcome, on one page', () => {
      assert.deepEqual(
        all.items.map((o) => o.orderId),
        [...ids].reverse(),
        'newest first',
      );
      assert.deepEqual(
        all.items.map((o) => [o.status, o.failureReason]),
        [
          ['FAILED', 'SHIPPING_UNAVAILABLE'],
          ['FAILED', 'PAYMENT_DECLINED'],
          ['COMPLETED', undefined],
        ],
      );
      assert.equal(all.nextCursor, null);
    });

    it('GET /orders pages through them with a cursor, and refuses a forged cursor with a 400', async () => {
      const first = await list(`customerId=${customerId}&limit=2`);
      assert.equal(first.items.length, 2);
      assert.ok(first.nextCursor);
      const second = await list(`customerId=${customerId}&limit=2&cursor=${first.nextCursor}`);
      assert.deepEqual(
        [...first.items, ...second.items].map((o) => o.orderId),
        all.items.map((o) => o.orderId),
      );
      assert.equal(second.nextCursor, null);
      const badCursor = await fetch(`${base}/orders?customerId=${customerId}&cursor=nope`, { headers: headers() });
      assert.equal(badCursor.status, 400);
    });

    it('one notification goes out per ended order, of the kind of its end', async () => {
      const notes = await eventually(
        async () => {
          const { rows } = await db.query<{ order_id: string; kind: string }>(
            'SELECT order_id, kind FROM notifications WHERE customer_id = $1 ORDER BY created_at',
            [customerId],
          );
          return rows.length === 3 ? rows : undefined;
        },
        30_000,
        'three notifications',
      );
      assert.deepEqual(
        new Map(notes.map((n) => [n.order_id, n.kind])),
        new Map([
          [ids[0], 'ORDER_COMPLETED'],
          [ids[1], 'ORDER_FAILED'],
          [ids[2], 'ORDER_FAILED'],
        ]),
      );
    });
  });

  it('Idempotency-Key: same body gives the same order, another body is 422, and neither starts a second saga', async () => {
    const sku = await putSku(5);
    const key = randomUUID();
    const first = await place(body(sku, 1), key);
    const again = await place(body(sku, 1), key);
    assert.equal(first.status, 202);
    assert.equal(again.status, 202);
    assert.equal(again.json.orderId, first.json.orderId);
    const res = await fetch(`${base}/checkouts`, {
      method: 'POST',
      headers: headers(key),
      body: JSON.stringify(body(sku, 2)),
    });
    assert.equal(res.status, 422);
    assert.equal(res.headers.get('Content-Type'), 'application/problem+json');
    await settled(first.json.orderId);
    const orders = await db.query('SELECT count(*)::int AS n FROM orders WHERE items @> $1::jsonb', [
      JSON.stringify([{ sku }]),
    ]);
    assert.equal(orders.rows[0]?.n, 1);
  });

  it('rejects bad input with problem+json, no 5xx, and no order written', async () => {
    const before = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM orders')).rows[0]?.n;
    const bad = await place({ ...body('SKU-001', 0), shippingAddress: { country: 'germany' } });
    assert.equal(bad.status, 400);
    const problem = bad.json as unknown as { type: string; status: number; errors: { path: string }[] };
    assert.equal(problem.status, 400);
    assert.ok(problem.errors.some((e) => e.path === 'json.items.0.quantity'));
    // Valid per the schema, refused by the catalogue or the payment provider: 422, not 400.
    const unknownSku = await place(body('NO-SUCH-SKU', 1));
    assert.equal(unknownSku.status, 422);
    const unknownMethod = await place(body('SKU-001', 1, 'pm_card_unheard_of'));
    assert.equal(unknownMethod.status, 422);
    const noKey = await fetch(`${base}/checkouts`, {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify(body('SKU-001', 1)),
    });
    assert.equal(noKey.status, 400);
    const noAuth = await fetch(`${base}/checkouts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'x' },
      body: '{}',
    });
    assert.equal(noAuth.status, 401);
    assert.match(noAuth.headers.get('WWW-Authenticate') ?? '', /^Bearer/);
    const malformed = await fetch(`${base}/checkouts`, {
      method: 'POST',
      headers: headers(randomUUID()),
      body: '{"customerId":',
    });
    assert.equal(malformed.status, 400);
    const missing = await fetch(`${base}/checkouts/${randomUUID()}`, { headers: headers() });
    assert.equal(missing.status, 404);
    const after = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM orders')).rows[0]?.n;
    assert.equal(after, before);
  });

  it('serves health, readiness of every dependency, and the OpenAPI document', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(Object.keys(((await ready.json()) as { checks: object }).checks).sort(), [
      'nats',
      'postgres',
      'temporal',
    ]);
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      '/checkouts',
      '/checkouts/{orderId}',
      '/checkouts/{orderId}/cancel',
      '/checkouts/{orderId}/payment-confirmation',
      '/healthz',
      '/inventory/{sku}',
      '/metrics',
      '/orders',
      '/readyz',
      '/webhooks/payments',
    ]);
    assert.equal((await fetch(`${base}/no-such-path/${randomUUID()}`)).status, 404);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^http_requests_total\{method="POST",route="\/checkouts",status="202"\} [1-9]/m);
    assert.match(
      metrics,
      /^http_request_duration_seconds_bucket\{le="0\.05",method="GET",route="\/checkouts\/:orderId",status="200"\} \d+/m,
    );
    assert.match(
      metrics,
      /^http_requests_total\{method="GET",route="unmatched",status="404"\} [1-9]/m,
      'unknown paths share one label',
    );
  });

  it('every event the suite produced on the wire validates against the committed JSON Schemas (ajv, not zod)', async () => {
    const validate = loadJsonSchemaValidator();
    const js = nc.jetstream();
    let checked = 0;
    for (const stream of STREAMS.filter((s) => s.name !== 'DLQ')) {
      const reader = await js.consumers.get(stream.name, {
        deliver_policy: DeliverPolicy.StartTime,
        opt_start_time: since.toISOString(),
      });
      let more = true;
      while (more) {
        more = false;
        for await (const msg of await reader.fetch({ max_messages: 500, expires: 2_000 })) {
          // pending counts what is left in the stream after this message: 0 means we read it all.
          more = msg.info.pending > 0;
          const body = new TextDecoder().decode(msg.data);
          const envelope = JSON.parse(body) as { subject?: string };
          if (!envelope.subject || !placedOrders.has(envelope.subject)) continue;
          assert.deepEqual(validate(body), [], `${msg.subject} #${msg.info.streamSequence}`);
          checked += 1;
        }
      }
    }
    const expected = [...placedOrders].reduce((n, id) => n + (events.get(id)?.length ?? 0), 0);
    assert.ok(expected > 20, `the suite produced events (${expected})`);
    assert.equal(checked, expected, 'every event received by the suite was validated');
  });

  it('every route is in the OpenAPI document, and every response the suite got matches its declared status and schema', async () => {
    const doc = (await (await realFetch(`${base}/openapi.json`)).json()) as Parameters<typeof openApiValidator>[0];
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)),
    );
    const app = createApp({
      db,
      checkouts: {} as Parameters<typeof createApp>[0]['checkouts'],
      ...serviceTokenAccess(db, TOKEN),
      readiness: {},
      logger: testLogger('openapi'),
      metrics: createHttpMetrics(),
    });
    const undocumented = app.routes
      .filter((r) => r.method !== 'ALL' && !['/openapi.json', '/docs'].includes(r.path))
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
      .filter((r) => !documented.has(r));
    assert.deepEqual(undocumented, [], 'routes served but not documented');
    const check = openApiValidator(doc);
    const problems = seen.filter((r) => !['/openapi.json', '/docs'].includes(r.path)).flatMap(check);
    assert.ok(seen.length > 50, `the suite made requests (${seen.length})`);
    assert.deepEqual(problems, []);
  });
});
