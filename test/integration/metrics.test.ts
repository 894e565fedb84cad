import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createConsumer, createConsumerMetrics, type ConsumerStats, type EventConsumer } from 'checkout-saga/events';
import type { NatsConnection } from 'nats';
import type { Config } from '../../lib/config';
import { createDb, withTransaction, type Db } from '../../lib/db';
import { migrate } from '../../lib/migrate';
import { createProcessRegistry, startMetricsServer, type MetricsServer } from '../../lib/metrics-server';
import { randomIds, systemClock } from '../../lib/runtime';
import { appendEvent } from '../../outbox/append';
import { createRelayMetrics } from '../../outbox/metrics';
import { OUTBOX_PARTITIONS, OutboxRelay } from '../../outbox/relay';
import { RunningComponents } from '../support/components';
import { connectTestNats } from '../support/nats';
import { scrape, sumOf, type Sample } from '../support/prometheus';
import { ensureDatabase, eventually, testConfig, testDb, testLogger } from '../support/services';

// Rows go through a real relay into JetStream and out through a real kit consumer; the assertions
// read only what GET /metrics says. The outbox is a database of its own, so this relay owns every
// partition and the backlog is ours alone. The consumer reads a subject the saga rarely emits
// (shipping.shipment.cancelled); another test's event on it can only add to `applied`.
const TYPE = 'shipping.shipment.cancelled';
const outboxDeps = { clock: systemClock, ids: randomIds, source: '/test/metrics' };
const traceparent = `00-${'5'.repeat(32)}-${'6'.repeat(16)}-01`;

/** A database of this test's own, created (and migrated) on first use. */
async function ownDatabase(config: Config): Promise<Db> {
  const url = new URL(config.database.url);
  url.pathname = `${url.pathname.replace(/_test$/, '')}_metrics_test`;
  await ensureDatabase(url.toString(), config.database.url);
  const db = createDb(url.toString(), {
    max: 6,
    applicationName: 'checkout-metrics-test',
    timeouts: config.database.timeouts,
  });
  await migrate(db);
  return db;
}

/** Writes one TYPE event per order to the outbox, each in its own transaction. */
async function appendCancelledShipments(db: Db, orders: string[]): Promise<void> {
  for (const orderId of orders) {
    await withTransaction(db, (tx) =>
      appendEvent(tx, outboxDeps, {
        orderId,
        traceparent,
        event: {
          type: TYPE,
          dataversion: 1,
          data: { orderId, shipmentId: 'shp_m', cancelledAt: new Date().toISOString() },
        },
      }),
    );
  }
}

describe('relay and consumer metrics, scraped over HTTP, against real Postgres and NATS', () => {
  let config: Config;
  let db: Db;
  let nc: NatsConnection;
  let server: MetricsServer;
  let url: string;
  const components = new RunningComponents();
  const logger = testLogger('metrics-test');
  const registry = createProcessRegistry();

  before(async () => {
    config = testConfig();
    // The test database may not exist yet; ownDatabase connects through it, so make sure it does.
    await (await testDb(config)).end();
    db = await ownDatabase(config);
    nc = await connectTestNats(config, 'metrics-test');
    server = await startMetricsServer('127.0.0.1:0', registry, logger, components.signal);
    url = `http://127.0.0.1:${server.port}/metrics`;
  });
  after(async () => {
    await components.stopAll();
    await server?.close();
    await nc?.drain();
    await db?.end();
  });

  it('serves process metrics and answers only GET /metrics', async () => {
    const samples = await scrape(url);
    assert.ok(sumOf(samples, 'process_cpu_user_seconds_total') !== undefined, 'default process metrics');
    assert.equal((await fetch(url.replace('/metrics', '/other'))).status, 404);
    assert.equal((await fetch(url, { method: 'POST' })).status, 405);
  });

  describe('relay: six rows written while no relay runs, then a relay started', () => {
    const orders = Array.from({ length: 6 }, () => randomUUID());
    let unregistered: number | undefined;
    let leftover = Number.NaN;
    let waiting: Sample[];
    let drained: Sample[];
    let published = 0;

    before(async () => {
      unregistered = sumOf(await scrape(url), 'outbox_backlog_rows');
      const metrics = createRelayMetrics(registry, { db, partitions: OUTBOX_PARTITIONS });
      leftover = sumOf(await scrape(url), 'outbox_backlog_rows') ?? Number.NaN;
      await appendCancelledShipments(db, orders);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      waiting = await scrape(url);

      const relay = new OutboxRelay(
        { db, js: nc.jetstream(), logger, metrics },
        {
          batchSize: 50,
          pollIntervalMs: 200,
          rebalanceIntervalMs: 500,
          publishTimeoutMs: 5_000,
          retentionMs: 86_400_000,
        },
      );
      components.add(relay.run(components.signal));
      drained = await eventually(
        async () => {
          const s = await scrape(url);
          return sumOf(s, 'outbox_backlog_rows') === 0 ? s : undefined;
        },
        30_000,
        'the backlog gauge to drain to 0',
      );
      published = sumOf(drained, 'outbox_published_total') ?? 0;
    });

    it('exports no relay metrics until a relay registers them', () => {
      assert.equal(unregistered, undefined, 'no relay metrics registered yet');
    });

    it('counts every unpublished row in the backlog and ages the oldest while no relay runs', () => {
      assert.equal(sumOf(waiting, 'outbox_backlog_rows'), leftover + orders.length);
      assert.ok(
        (sumOf(waiting, 'outbox_oldest_unpublished_age_seconds') ?? 0) >= 1,
        'the oldest row is at least a second old',
      );
      assert.equal(sumOf(waiting, 'outbox_published_total'), 0);
      assert.equal(sumOf(waiting, 'outbox_partitions_owned'), 0, 'no relay running yet');
    });

    it('drains the backlog to 0 and counts each publish once the relay runs', () => {
      assert.ok(published >= leftover + orders.length, `published ${published} >= ${leftover + orders.length}`);
      assert.equal(sumOf(drained, 'outbox_oldest_unpublished_age_seconds'), 0);
    });

    it('times every publish, and every row from commit to ack', () => {
      assert.equal(sumOf(drained, 'outbox_publish_duration_seconds_count'), published, 'every ack timed');
      assert.equal(sumOf(drained, 'outbox_commit_to_ack_seconds_count'), published);
      assert.ok(
        (sumOf(drained, 'outbox_commit_to_ack_seconds_sum') ?? 0) >= orders.length * 1,
        'rows waited at least a second before the relay started',
      );
    });

    it('shows the only relay on this outbox as its only member, owning every partition', () => {
      assert.equal(
        sumOf(drained, 'outbox_partitions_owned'),
        OUTBOX_PARTITIONS,
        'the only relay on this outbox owns every partition',
      );
      assert.equal(sumOf(drained, 'outbox_relay_members'), 1);
    });

    it('exports publish errors by reason from the start, all at 0', () => {
      assert.equal(sumOf(drained, 'outbox_publish_errors_total'), 0);
      assert.equal(
        sumOf(drained, 'outbox_publish_errors_total', { reason: 'timeout' }),
        0,
        'every reason is exported from the start',
      );
    });
  });

  describe('consumer: five events, one of them poison, while handlers are held and then released', () => {
    const name = `metrics-${randomUUID().slice(0, 8)}`;
    const orders = Array.from({ length: 5 }, () => randomUUID());
    const poison = orders[0] as string;
    let consumer: EventConsumer;
    let held: Sample[];
    let done: Sample[];
    let stats: ConsumerStats;
    const count = (outcome: string) =>
      sumOf(done, 'consumer_messages_total', { consumer: name, stream: 'SHIPPING', outcome }) ?? Number.NaN;

    before(async () => {
      const consumerMetrics = createConsumerMetrics(registry, (err) => logger.warn({ err }, 'scrape error'));
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      consumer = createConsumer(
        { nc, db, logger, metrics: consumerMetrics },
        {
          name,
          stream: 'SHIPPING',
          deliverFrom: new Date(),
          maxAckPending: 2,
          maxDeliver: 2,
          backoffMs: [100],
          handlers: {
            [TYPE]: async (event) => {
              await gate;
              if (event.subject === poison) throw new Error('cannot handle this order');
            },
          },
        },
      );
      components.add(consumer.run(components.signal));
      await eventually(
        async () =>
          sumOf(await scrape(url), 'consumer_messages_total', { consumer: name, outcome: 'applied' }) === 0
            ? true
            : undefined,
        10_000,
        'the consumer to be watched',
      );
      await appendCancelledShipments(db, orders);

      held = await eventually(
        async () => {
          const s = await scrape(url);
          const pending = sumOf(s, 'consumer_pending_messages', { consumer: name, stream: 'SHIPPING' }) ?? 0;
          return sumOf(s, 'consumer_ack_pending_messages', { consumer: name }) === 2 && pending >= orders.length - 2
            ? s
            : undefined;
        },
        30_000,
        'two messages held by handlers and the rest pending',
      );
      release();
      done = await eventually(
        async () => {
          const s = await scrape(url);
          return sumOf(s, 'consumer_dlq_messages', { consumer: name }) === 1 &&
            sumOf(s, 'consumer_pending_messages', { consumer: name }) === 0 &&
            sumOf(s, 'consumer_ack_pending_messages', { consumer: name }) === 0
            ? s
            : undefined;
        },
        30_000,
        'everything settled and the poison event in the DLQ',
      );
      stats = consumer.stats();
    });

    it('shows held messages as ack-pending and the rest as pending, with nothing applied or dead-lettered yet', () => {
      assert.equal(sumOf(held, 'consumer_messages_total', { consumer: name, outcome: 'applied' }), 0);
      assert.equal(sumOf(held, 'consumer_dlq_messages', { consumer: name }), 0);
    });

    it('counts applied, retried and dead-lettered deliveries once the handlers run', () => {
      assert.ok(count('applied') >= orders.length - 1, `applied ${count('applied')}`);
      assert.equal(count('retried'), 1, 'the poison event failed once and was retried');
      assert.equal(count('dead_lettered'), 1, 'then dead-lettered on its 2nd delivery');
      assert.equal(count('duplicate'), 0);
    });

    it('agrees with the consumer’s own stats()', () => {
      assert.equal(stats.deadLettered, 1, 'stats() and the metrics agree');
      assert.equal(stats.retried, 1);
    });

    it('times every delivery and the age of each event it settles', () => {
      const settled = count('applied') + count('retried') + count('dead_lettered');
      assert.equal(
        sumOf(done, 'consumer_processing_duration_seconds_count', { consumer: name }),
        settled,
        'every delivery timed',
      );
      assert.equal(sumOf(done, 'consumer_event_age_seconds_count', { consumer: name }), settled);
      assert.ok((sumOf(done, 'consumer_processing_duration_seconds_sum', { consumer: name }) ?? 0) > 0);
    });

    it('reports the dead letter of its poison event in the DLQ', async () => {
      assert.equal(await consumer.deadLetters(), 1);
    });
  });
});
