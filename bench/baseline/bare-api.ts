import { randomUUID } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { Config } from '../../lib/config';
import { createDb, withTransaction } from '../../lib/db';
import type { Logger } from '../../lib/logger';
import { runIfMain } from '../../lib/main';
import { untilAborted } from '../../lib/shutdown';

/** Fixed line items: the baseline prices nothing, as it validates nothing. */
const ITEMS = JSON.stringify([{ sku: 'SKU-001', name: 'Demo', quantity: 1, unitPriceCents: 500 }]);

/**
 * The API capacity baseline of scenario 4: a bare Hono handler doing the same single PostgreSQL
 * transaction as POST /checkouts (the order row, its outbox row, the Idempotency-Key row) and
 * nothing else: no validation, no auth, no idempotency protocol (no lock, no lookup), no pricing,
 * no telemetry, no saga start queued. What the product's API adds on top is what it costs.
 *
 * @example
 * node --import tsx bench/baseline/bare-api.ts   # PORT, DATABASE_URL from the bench's environment
 */
export async function runBareApi(config: Config, logger: Logger, signal: AbortSignal): Promise<void> {
  const db = createDb(config.database.url, {
    max: config.database.poolMax,
    applicationName: 'bench-bare-api',
    timeouts: config.database.timeouts,
  });
  const app = new Hono().post('/checkouts', async (c) => {
    const body = await c.req.json<{ customerId: string; shippingAddress: unknown; payment: { method: string } }>();
    const orderId = randomUUID();
    const eventId = randomUUID();
    const now = new Date();
    await withTransaction(db, async (tx) => {
      await tx.query(
        `INSERT INTO orders (id, customer_id, status, currency, total_cents, items, shipping_address, payment_method, traceparent, created_at, updated_at)
         VALUES ($1, $2, 'PENDING', 'USD', 500, $3, $4, $5, '00-00000000000000000000000000000001-0000000000000001-01', $6, $6)`,
        [orderId, body.customerId, ITEMS, JSON.stringify(body.shippingAddress), body.payment.method, now],
      );
      await tx.query(
        `INSERT INTO outbox (event_id, subject, partition_key, envelope, headers) VALUES ($1, 'checkout.order.placed', $2, $3, '{}')`,
        [
          eventId,
          orderId,
          JSON.stringify({ id: eventId, type: 'checkout.order.placed', subject: orderId, data: body }),
        ],
      );
      await tx.query(
        `INSERT INTO idempotency_keys (principal, key, request_hash, order_id, response, expires_at)
         VALUES ('bench-bare', $1, '', $2, '{}', $3)`,
        [c.req.header('idempotency-key') ?? randomUUID(), orderId, new Date(now.getTime() + 86_400_000)],
      );
    });
    return c.json({ orderId, status: 'PENDING' }, 202);
  });
  // Logged, so a baseline that cannot work (a schema or grant it lacks) says why in its log.
  app.onError((err, c) => {
    logger.error({ err }, 'bare handler failed');
    return c.text('bare handler failed', 500);
  });
  const server = serve({ fetch: app.fetch, port: config.http.port, hostname: config.http.host }, (info) =>
    logger.info({ port: info.port }, 'bare API listening'),
  );
  try {
    await untilAborted(signal);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await db.end();
  }
}

await runIfMain(import.meta.url, 'bare-api', runBareApi);
