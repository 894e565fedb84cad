import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../../lib/wait';
import { checkoutRequest, startApi } from '../support/api';
import { RunningComponents } from '../support/components';
import { startIdentityProvider, type TestIdentityProvider } from '../support/identity-provider';
import { testConfig, testDb, testLogger } from '../support/services';

/**
 * Write quotas per principal at two real API processes sharing one PostgreSQL: 429 with
 * Retry-After and the IETF RateLimit headers, recovery after Retry-After, one quota across both
 * processes (also under concurrent requests), and reads never counted. The writes are checkouts
 * of an unknown SKU: counted, answered 422, nothing placed.
 */

/** Random per run: quotas live in the shared test database, and must not carry over between runs. */
const SERVICE = `rate-service-${randomUUID()}`;

describe('rate limits per principal on write routes', () => {
  const components = new RunningComponents();
  let idp: TestIdentityProvider;
  const bases: string[] = [];

  before(async () => {
    idp = await startIdentityProvider();
    const config = testConfig({
      PORT: '0',
      API_TOKENS: SERVICE,
      AUTH_JWKS_URL: idp.jwksUrl,
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: idp.audience,
      RATE_LIMIT_CUSTOMER_WRITES: '3/6s',
      RATE_LIMIT_SERVICE_WRITES: '5/60s',
    });
    await (await testDb(config)).end();
    for (const name of ['rate-limits-1', 'rate-limits-2']) {
      const api = startApi(config, testLogger(name), components.signal);
      components.add(api.running);
      bases.push(await api.base);
    }
  });

  after(async () => {
    await components.stopAll();
    await idp?.close();
  });

  const customer = async () => {
    const sub = `cust-rl-${randomUUID().slice(0, 8)}`;
    return { sub, token: await idp.token({ sub, scope: 'checkout:write checkout:read' }) };
  };

  /** A counted write that changes nothing: a checkout of a SKU the catalogue does not have (422). */
  const write = (token: string, sub: string, base: string) =>
    fetch(`${base}/checkouts`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': randomUUID(),
      },
      body: JSON.stringify(checkoutRequest({ customerId: sub, sku: `NOPE-${randomUUID()}` })),
    });

  /** Both processes in turn: request i goes to process i mod 2. */
  const base = (i: number) => bases[i % bases.length] as string;

  it('counts each write against the quota in RateLimit headers, across both processes', async () => {
    const { sub, token } = await customer();
    const seen: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const res = await write(token, sub, base(i));
      assert.equal(res.status, 422);
      assert.equal(res.headers.get('RateLimit-Policy'), '"customer-writes";q=3;w=6');
      seen.push(res.headers.get('RateLimit') ?? '');
    }
    assert.deepEqual(
      seen.map((v) => /;r=(\d+);/.exec(v)?.[1]),
      ['2', '1', '0'],
    );
  });

  it('refuses the write after the quota with 429, Retry-After and RateLimit r=0', async () => {
    const { sub, token } = await customer();
    for (let i = 0; i < 3; i += 1) assert.equal((await write(token, sub, base(i))).status, 422);
    const refused = await write(token, sub, base(3));
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('Content-Type'), 'application/problem+json');
    const retryAfter = Number(refused.headers.get('Retry-After'));
    assert.ok(retryAfter >= 1 && retryAfter <= 2, `Retry-After ${retryAfter}`);
    assert.equal(refused.headers.get('RateLimit'), `"customer-writes";r=0;t=${retryAfter}`);
    assert.equal(refused.headers.get('RateLimit-Policy'), '"customer-writes";q=3;w=6');
    const problem = (await refused.json()) as { type: string; status: number };
    assert.equal(problem.type, 'https://checkout-saga.dev/problems/rate-limited');
    assert.equal(problem.status, 429);
  });

  it('lets the principal write again after Retry-After, however often it was refused meanwhile', async () => {
    const { sub, token } = await customer();
    for (let i = 0; i < 3; i += 1) await write(token, sub, base(i));
    const refused = await write(token, sub, base(0));
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers.get('Retry-After'));
    // Hammering while refused must not push the quota further out (GCRA keeps refused requests out of the count).
    for (let i = 0; i < 5; i += 1) assert.equal((await write(token, sub, base(i))).status, 429);
    await sleep(retryAfter * 1000);
    assert.equal((await write(token, sub, base(1))).status, 422);
  });

  it('gives every principal its own quota', async () => {
    const a = await customer();
    const b = await customer();
    for (let i = 0; i < 4; i += 1) await write(a.token, a.sub, base(i));
    assert.equal((await write(a.token, a.sub, base(0))).status, 429);
    assert.equal((await write(b.token, b.sub, base(1))).status, 422);
  });

  it('never counts reads: a principal without quota left still reads, without RateLimit headers', async () => {
    const { sub, token } = await customer();
    for (let i = 0; i < 4; i += 1) await write(token, sub, base(i));
    assert.equal((await write(token, sub, base(0))).status, 429);
    for (let i = 0; i < 6; i += 1) {
      const res = await fetch(`${base(i)}/orders?customerId=${sub}`, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('RateLimit'), null);
    }
  });

  it('allows exactly the quota of concurrent writes sent to both processes at once', async () => {
    // The service quota is 5 per 60 s: no refill happens while 16 requests race.
    const answers = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        fetch(`${base(i)}/inventory/NOPE-RL`, {
          method: 'PUT',
          headers: { Authorization: `Bearer ${SERVICE}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ name: '', priceCents: 1, available: 1 }),
        }).then((r) => r.status),
      ),
    );
    assert.equal(answers.filter((s) => s === 400).length, 5, `answers: ${answers.join(',')}`);
    assert.equal(answers.filter((s) => s === 429).length, 11, `answers: ${answers.join(',')}`);
  });
});
