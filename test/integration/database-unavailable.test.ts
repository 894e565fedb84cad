import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../api/app';
import { createHttpMetrics } from '../../api/metrics';
import type { SagaClient } from '../../checkouts/saga-client';
import { createCheckoutService } from '../../checkouts/service';
import { createDb, type Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { randomIds, systemClock } from '../../lib/runtime';
import { checkoutRequest, serviceTokenAccess } from '../support/api';
import { openApiValidator } from '../support/openapi-validator';
import { freePort } from '../support/ports';
import { testConfig } from '../support/services';

const TOKEN = 'db-down-token-0123456789abcdef';

/**
 * The API over a real pg pool whose PostgreSQL is not there (a port nobody listens on): every
 * route that touches the database answers 503 problem+json with Retry-After, as the OpenAPI
 * document declares, instead of an undeclared 500; and the outage is logged as such.
 */
describe('PostgreSQL unreachable: routes that need it answer 503 with Retry-After', () => {
  let db: Db;
  const logLines: Record<string, unknown>[] = [];
  let app: ReturnType<typeof createApp>;

  before(async () => {
    db = createDb(`postgres://checkout:unused@127.0.0.1:${await freePort()}/checkout`, {
      applicationName: 'db-down',
      timeouts: testConfig().database.timeouts,
    });
    const logger = createLogger('db-down', 'warn', {
      write: (chunk: string) => {
        for (const line of chunk.split('\n'))
          if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      },
    });
    const checkouts = createCheckoutService({
      db,
      // Never reached: each use case asks the database first.
      saga: {} as SagaClient,
      clock: systemClock,
      ids: randomIds,
      idempotencyTtlMs: 60_000,
      paymentMethods: { acceptsMethod: () => Promise.resolve(true) },
      logger,
    });
    app = createApp({
      db,
      checkouts,
      ...serviceTokenAccess(db, TOKEN),
      readiness: { postgres: { check: () => db.query('SELECT 1').then(() => undefined), required: true } },
      logger,
      metrics: createHttpMetrics(),
    });
  });

  after(() => db?.end());

  const REQUESTS = [
    { method: 'GET', path: `/checkouts/${randomUUID()}` },
    { method: 'POST', path: `/checkouts/${randomUUID()}/cancel` },
    { method: 'POST', path: '/checkouts', body: checkoutRequest({ customerId: 'cust-db-down' }) },
    { method: 'GET', path: '/inventory/SKU-001' },
    { method: 'PUT', path: '/inventory/SKU-DB-DOWN', body: { name: 'Down', priceCents: 100, available: 1 } },
    { method: 'GET', path: '/orders?customerId=cust-db-down' },
  ];

  for (const req of REQUESTS) {
    it(`${req.method} ${req.path.replace(/[0-9a-f-]{36}/, '{id}')}: 503 database-unavailable, declared`, async () => {
      const headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}`, 'Idempotency-Key': randomUUID() };
      if (req.body) headers['Content-Type'] = 'application/json';
      const res = await app.request(req.path, {
        method: req.method,
        headers,
        ...(req.body ? { body: JSON.stringify(req.body) } : {}),
      });
      const body = await res.text();
      assert.equal(res.status, 503, body);
      assert.equal(res.headers.get('Content-Type'), 'application/problem+json');
      assert.match(res.headers.get('Retry-After') ?? '', /^[1-9][0-9]*$/);
      const problem = JSON.parse(body) as { type: string; status: number };
      assert.equal(problem.type, 'https://checkout-saga.dev/problems/database-unavailable');
      assert.equal(problem.status, 503);
      const doc = (await (await app.request('/openapi.json')).json()) as Parameters<typeof openApiValidator>[0];
      const seen = { method: req.method, path: req.path, status: 503, contentType: 'application/problem+json', body };
      assert.deepEqual(openApiValidator(doc)(seen), []);
    });
  }

  it('logs the outage as a warning naming the refused connection, not as an unhandled error', () => {
    const outages = logLines.filter((l) => l.msg === 'database unavailable');
    assert.ok(outages.length >= REQUESTS.length, JSON.stringify(logLines));
    assert.ok(
      outages.every((l) => JSON.stringify(l.err).includes('ECONNREFUSED')),
      JSON.stringify(outages[0]),
    );
    assert.deepEqual(
      logLines.filter((l) => l.msg === 'unhandled error'),
      [],
    );
  });

  it('/readyz says not ready (its own declared 503), and /healthz still answers', async () => {
    assert.equal((await app.request('/readyz')).status, 503);
    assert.equal((await app.request('/healthz')).status, 200);
  });
});
