import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { checkoutRequest } from '../support/api';
import { startIdentityProvider, type TestIdentityProvider } from '../support/identity-provider';
import { freePort } from '../support/ports';
import { stopProcess, TestProcesses, type TestProcess } from '../support/processes';
import { eventually, testConfig, testDb } from '../support/services';

/**
 * Secrets never reach a log line, a metric label or an error body. A real API process (debug
 * logging, so every line it can write is written) is sent a valid service token, a wrong one, a
 * token under another scheme, valid and forged JWTs (expired, unknown key, HS256, `alg: none`),
 * and webhooks signed with a wrong secret; then its whole output, its `/metrics` text and every
 * response body are searched for each secret.
 */
describe('secrets stay out of logs, metrics and error bodies', () => {
  const processes = new TestProcesses();
  const TOKEN = `secret-service-token-${randomUUID()}`;
  const WRONG_TOKEN = `wrong-service-token-${randomUUID()}`;
  const WEBHOOK_SECRET = `webhook-secret-${randomUUID()}`;
  let idp: TestIdentityProvider;
  let api: TestProcess;
  let base = '';
  /** Every secret sent; the JWTs (and their signatures) are added as they are minted. */
  const secrets: string[] = [TOKEN, WRONG_TOKEN, WEBHOOK_SECRET];
  /** Every response body the API sent, by request. */
  const bodies: { request: string; body: string }[] = [];

  before(async () => {
    idp = await startIdentityProvider();
    const config = testConfig();
    await (await testDb(config)).end();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    api = processes.start('api', 'api/server.ts', {
      env: {
        DATABASE_URL: config.database.url,
        TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
        PORT: String(port),
        LOG_LEVEL: 'debug',
        API_TOKENS: TOKEN,
        PAYMENT_WEBHOOK_SECRET: WEBHOOK_SECRET,
        AUTH_JWKS_URL: idp.jwksUrl,
        AUTH_ISSUER: idp.issuer,
        AUTH_AUDIENCE: idp.audience,
      },
    });
    await eventually(
      async () => ((await fetch(`${base}/healthz`).catch(() => undefined))?.ok ? true : undefined),
      60_000,
      'the API to listen',
    );
  });

  after(async () => {
    await processes.killAll();
    await idp?.close();
  });

  async function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<number> {
    const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    bodies.push({ request: `${method} ${path} (${JSON.stringify(Object.keys(headers))})`, body: await res.text() });
    return res.status;
  }

  it('sends requests carrying every kind of credential, valid and not', async () => {
    const jwts = {
      valid: await idp.token({ sub: 'cust-secrets', scope: 'checkout:read checkout:write' }),
      expired: await idp.token({ sub: 'cust-secrets', expiresIn: -600 }),
      unknownKey: await idp.token({ sub: 'cust-secrets', key: 'unknown' }),
      hs256: await idp.token({ sub: 'cust-secrets', key: 'hs256' }),
      none: await idp.token({ sub: 'cust-secrets', key: 'none' }),
    };
    secrets.push(
      ...Object.values(jwts),
      ...Object.values(jwts)
        .map((t) => t.split('.')[2] ?? '')
        .filter(Boolean),
    );
    const authorizations = [
      `Bearer ${TOKEN}`,
      `Bearer ${WRONG_TOKEN}`,
      `Token ${TOKEN}`,
      `Bearer ${TOKEN} ${WRONG_TOKEN}`,
      ...Object.values(jwts).map((jwt) => `Bearer ${jwt}`),
    ];
    const order = randomUUID();
    const checkout = JSON.stringify(checkoutRequest({ customerId: 'cust-secrets' }));
    const statuses = new Set<number>();
    for (const Authorization of authorizations) {
      const json = { Authorization, 'Content-Type': 'application/json' };
      statuses.add(await send('GET', `/checkouts/${order}`, { Authorization }));
      statuses.add(await send('POST', '/checkouts', { ...json, 'Idempotency-Key': randomUUID() }, checkout));
      statuses.add(await send('POST', `/checkouts/${order}/payment-confirmation`, json, '{"approved":true}'));
      statuses.add(await send('GET', '/orders?customerId=cust-secrets', { Authorization }));
      statuses.add(await send('PUT', '/inventory/SKU-SECRETS', json, '{"name":"x","priceCents":1,"available":1}'));
      statuses.add(await send('DELETE', '/checkouts', { Authorization }));
    }
    const notification = JSON.stringify({
      id: `evt_${randomUUID()}`,
      type: 'payment.authentication.succeeded',
      data: { orderId: order },
    });
    const t = Math.floor(Date.now() / 1000);
    const signedWith = (secret: string, at = t) =>
      `t=${at},v1=${createHmac('sha256', secret).update(`${at}.${notification}`).digest('hex')}`;
    for (const signature of [
      signedWith(`not-${WEBHOOK_SECRET}`),
      `t=${t},v1=${WEBHOOK_SECRET}`,
      signedWith(WEBHOOK_SECRET, t - 3600),
      WEBHOOK_SECRET,
    ]) {
      const status = await send(
        'POST',
        '/webhooks/payments',
        { 'Content-Type': 'application/json', 'Payment-Signature': signature, Authorization: `Bearer ${TOKEN}` },
        notification,
      );
      assert.equal(status, 401, 'a wrong or stale signature is refused');
    }
    // The requests reached past authentication too (not all refused at the door).
    assert.ok(statuses.has(401) && statuses.has(404) && statuses.has(202), [...statuses].join(','));
  });

  it('no secret is in a response body, the /metrics text, or a line the process wrote', async () => {
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /http_request/, 'the scrape has the request metrics');
    assert.equal((await stopProcess(api, 'SIGTERM')).code, 0);
    assert.ok(api.lines.length > 0, 'the API logged');
    for (const secret of secrets) {
      assert.deepEqual(
        bodies.filter((b) => b.body.includes(secret)).map((b) => b.request),
        [],
        'response bodies',
      );
      assert.ok(!metrics.includes(secret), 'the /metrics text');
      assert.deepEqual(
        api.lines.filter((l) => l.includes(secret)),
        [],
        'the API’s output',
      );
    }
  });
});
