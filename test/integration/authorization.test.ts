import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../lib/db';
import { runSagaWorker } from '../../workers/saga-worker';
import { checkoutRequest, startApi } from '../support/api';
import { RunningComponents } from '../support/components';
import { startIdentityProvider, type TestIdentityProvider } from '../support/identity-provider';
import { eventually, freshSku, testConfig, testDb, testLogger } from '../support/services';

/**
 * Who may do what, route by route, at the real API (OIDC tokens from a real test identity
 * provider, sagas on the Temporal dev server): every route against its own customer, another
 * customer, a token without the route's scope, a service token and no token; then the principals
 * in between (limited service tokens, a support tool, a trusted backend), the webhook (its
 * signature only, never a bearer token) and the public routes (no token). Refused commands are
 * checked to have changed nothing.
 */

const SERVICE = 'authz-service-token-0123456789abcdef';
/** A support tool: reads anyone's orders, changes nothing. */
const SUPPORT = 'authz-support-token-0123456789abcdef';
/** A service token limited to reading checkouts, without checkout:any: it is nobody's customer. */
const READER = 'authz-reader-token-0123456789abcdef';
/** A payment backend's service token: payments:confirm and nothing else (no sub, no checkout:any). */
const CONFIRMER = 'authz-confirmer-token-0123456789abcdef';
const CUSTOMER_SCOPES = 'checkout:write checkout:read';
const A = `cust-a-${randomUUID().slice(0, 8)}`;
const B = `cust-b-${randomUUID().slice(0, 8)}`;

type Caller = 'own customer' | 'other customer' | 'missing scope' | 'service token' | 'no token';

interface RouteCase {
  label: string;
  /** The request, given A's waiting order for this cell (a fresh one for commands). */
  request: (orderId: string) => { method: string; path: string; body?: unknown; key?: boolean };
  /** A's token without the scope this route needs. */
  withoutScope: string;
  expect: Record<Caller, number>;
  /** Commands: a fresh waiting order per cell, checked unchanged after a refusal. */
  command?: boolean;
}

describe('authorization: every route x own customer, other customer, missing scope, service token, no token', () => {
  const components = new RunningComponents();
  let idp: TestIdentityProvider;
  let db: Db;
  let base = '';
  let sku = '';

  before(async () => {
    idp = await startIdentityProvider();
    const config = testConfig({
      PORT: '0',
      API_TOKENS: `${SERVICE},${SUPPORT}:checkout:read+checkout:any,${READER}:checkout:read,${CONFIRMER}:payments:confirm`,
      AUTH_JWKS_URL: idp.jwksUrl,
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: idp.audience,
    });
    db = await testDb(config);
    sku = await freshSku(db, 1000);
    const logger = testLogger('authorization');
    const api = startApi(config, logger, components.signal);
    components.add(api.running, runSagaWorker(config, logger, components.signal));
    base = await api.base;
  });

  after(async () => {
    await components.stopAll();
    await db?.end();
    await idp?.close();
  });

  async function call(
    token: string | undefined,
    req: { method: string; path: string; body?: unknown; key?: boolean },
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.Authorization = `Bearer ${token}`;
    if (req.body !== undefined) headers['Content-Type'] = 'application/json';
    if (req.key) headers['Idempotency-Key'] = randomUUID();
    return fetch(`${base}${req.path}`, {
      method: req.method,
      headers,
      ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
    });
  }

  const statusOf = async (orderId: string) =>
    ((await (await call(SERVICE, { method: 'GET', path: `/checkouts/${orderId}` })).json()) as { status: string })
      .status;

  /** An order of customer A waiting for its 3-D Secure answer (placed by the service token). */
  async function waitingOrderOfA(): Promise<string> {
    const res = await call(SERVICE, {
      method: 'POST',
      path: '/checkouts',
      key: true,
      body: checkoutRequest({ customerId: A, sku, method: 'pm_card_3ds' }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { orderId } = (await res.json()) as { orderId: string };
    await eventually(
      async () => ((await statusOf(orderId)) === 'AWAITING_PAYMENT_CONFIRMATION' ? true : undefined),
      30_000,
      `order ${orderId} to wait for its payment confirmation`,
    );
    return orderId;
  }

  const ROUTES: RouteCase[] = [
    {
      label: 'POST /checkouts',
      request: () => ({ method: 'POST', path: '/checkouts', key: true, body: checkoutRequest({ customerId: A, sku }) }),
      withoutScope: 'checkout:read',
      expect: {
        'own customer': 202,
        'other customer': 403,
        'missing scope': 403,
        'service token': 202,
        'no token': 401,
      },
    },
    {
      label: 'GET /checkouts/{orderId}',
      request: (orderId) => ({ method: 'GET', path: `/checkouts/${orderId}` }),
      withoutScope: 'checkout:write',
      expect: {
        'own customer': 200,
        'other customer': 404,
        'missing scope': 403,
        'service token': 200,
        'no token': 401,
      },
    },
    {
      label: 'POST /checkouts/{orderId}/cancel',
      request: (orderId) => ({ method: 'POST', path: `/checkouts/${orderId}/cancel` }),
      withoutScope: 'checkout:read',
      command: true,
      expect: {
        'own customer': 202,
        'other customer': 404,
        'missing scope': 403,
        'service token': 202,
        'no token': 401,
      },
    },
    {
      // Customers never hold payments:confirm, even when their token claims it.
      label: 'POST /checkouts/{orderId}/payment-confirmation',
      request: (orderId) => ({
        method: 'POST',
        path: `/checkouts/${orderId}/payment-confirmation`,
        body: { approved: true },
      }),
      withoutScope: CUSTOMER_SCOPES,
      command: true,
      expect: {
        'own customer': 403,
        'other customer': 403,
        'missing scope': 403,
        'service token': 202,
        'no token': 401,
      },
    },
    {
      label: 'GET /orders?customerId=A',
      request: () => ({ method: 'GET', path: `/orders?customerId=${A}` }),
      withoutScope: 'checkout:write',
      expect: {
        'own customer': 200,
        'other customer': 403,
        'missing scope': 403,
        'service token': 200,
        'no token': 401,
      },
    },
    {
      // The catalogue needs no scope: any authenticated principal reads it.
      label: 'GET /inventory/{sku}',
      request: () => ({ method: 'GET', path: '/inventory/SKU-001' }),
      withoutScope: '',
      expect: {
        'own customer': 200,
        'other customer': 200,
        'missing scope': 200,
        'service token': 200,
        'no token': 401,
      },
    },
    {
      // "Own": an operator signed in through the provider with inventory:write.
      label: 'PUT /inventory/{sku}',
      request: () => ({
        method: 'PUT',
        path: `/inventory/AUTHZ-${randomUUID().slice(0, 8)}`,
        body: { name: 'Authz test', priceCents: 100, available: 1 },
      }),
      withoutScope: CUSTOMER_SCOPES,
      expect: {
        'own customer': 200,
        'other customer': 403,
        'missing scope': 403,
        'service token': 200,
        'no token': 401,
      },
    },
  ];

  /** The token each caller presents for `route`. */
  function tokenOf(caller: Caller, route: RouteCase): Promise<string | undefined> {
    const ownScopes = route.label.startsWith('PUT /inventory')
      ? 'inventory:write'
      : `${CUSTOMER_SCOPES} payments:confirm`;
    switch (caller) {
      case 'own customer':
        return idp.token({ sub: A, scope: ownScopes });
      case 'other customer':
        return idp.token({ sub: B, scope: `${CUSTOMER_SCOPES} payments:confirm` });
      case 'missing scope':
        return idp.token({ sub: A, scope: route.withoutScope });
      case 'service token':
        return Promise.resolve(SERVICE);
      case 'no token':
        return Promise.resolve(undefined);
    }
  }

  let shared = '';
  for (const route of ROUTES) {
    for (const caller of Object.keys(route.expect) as Caller[]) {
      const status = route.expect[caller];
      it(`${caller}: ${route.label} answers ${status}`, async () => {
        shared ||= await waitingOrderOfA();
        const orderId = route.command ? await waitingOrderOfA() : shared;
        const res = await call(await tokenOf(caller, route), route.request(orderId));
        assert.equal(res.status, status, await res.clone().text());
        if (status >= 400) assert.equal(res.headers.get('Content-Type'), 'application/problem+json');
        if (route.command && status >= 400) assert.equal(await statusOf(orderId), 'AWAITING_PAYMENT_CONFIRMATION');
      });
    }
  }

  it('another customer’s order answers exactly like an order that does not exist', async () => {
    shared ||= await waitingOrderOfA();
    const asB = await idp.token({ sub: B, scope: CUSTOMER_SCOPES });
    const foreign = await call(asB, { method: 'GET', path: `/checkouts/${shared}` });
    const missing = await call(asB, { method: 'GET', path: `/checkouts/${randomUUID()}` });
    assert.equal(foreign.status, 404);
    assert.equal(missing.status, 404);
    const strip = (p: { detail: string }) => ({ ...p, detail: p.detail.replace(/[0-9a-f-]{36}/, '<id>') });
    assert.deepEqual(
      strip((await foreign.json()) as { detail: string }),
      strip((await missing.json()) as { detail: string }),
    );
  });

  it('a trusted backend signed in with checkout:any keeps payments:confirm and confirms', async () => {
    const orderId = await waitingOrderOfA();
    const backend = await idp.token({ sub: 'storefront-backend', scope: 'checkout:any payments:confirm' });
    const res = await call(backend, {
      method: 'POST',
      path: `/checkouts/${orderId}/payment-confirmation`,
      body: { approved: true },
    });
    assert.equal(res.status, 202);
  });

  it('a support tool (checkout:read + checkout:any) reads any customer’s order but places none', async () => {
    shared ||= await waitingOrderOfA();
    assert.equal((await call(SUPPORT, { method: 'GET', path: `/checkouts/${shared}` })).status, 200);
    assert.equal((await call(SUPPORT, { method: 'GET', path: `/orders?customerId=${B}` })).status, 200);
    const place = await call(SUPPORT, {
      method: 'POST',
      path: '/checkouts',
      key: true,
      body: checkoutRequest({ customerId: A, sku }),
    });
    assert.equal(place.status, 403);
    assert.match(place.headers.get('WWW-Authenticate') ?? '', /scope="checkout:write"/);
  });

  it('a service token with checkout:read but not checkout:any is nobody’s customer: orders are not found', async () => {
    shared ||= await waitingOrderOfA();
    assert.equal((await call(READER, { method: 'GET', path: `/checkouts/${shared}` })).status, 404);
    assert.equal((await call(READER, { method: 'GET', path: `/orders?customerId=${A}` })).status, 403);
  });

  it('a service token limited to payments:confirm confirms any customer’s payment, and reads nothing', async () => {
    const orderId = await waitingOrderOfA();
    const read = await call(CONFIRMER, { method: 'GET', path: `/checkouts/${orderId}` });
    assert.equal(read.status, 403, await read.clone().text());
    assert.match(read.headers.get('WWW-Authenticate') ?? '', /scope="checkout:read"/);
    const cancel = await call(CONFIRMER, { method: 'POST', path: `/checkouts/${orderId}/cancel` });
    assert.equal(cancel.status, 403, await cancel.clone().text());
    const missing = await call(CONFIRMER, {
      method: 'POST',
      path: `/checkouts/${randomUUID()}/payment-confirmation`,
      body: { approved: true },
    });
    assert.equal(missing.status, 404, await missing.clone().text());
    const confirm = await call(CONFIRMER, {
      method: 'POST',
      path: `/checkouts/${orderId}/payment-confirmation`,
      body: { approved: true },
    });
    assert.equal(confirm.status, 202, await confirm.clone().text());
    await eventually(
      async () => ((await statusOf(orderId)) === 'AWAITING_PAYMENT_CONFIRMATION' ? undefined : true),
      30_000,
      `order ${orderId} to move on from its payment confirmation`,
    );
  });

  it('POST /webhooks/payments takes no bearer token: a service token without a signature is 401 and changes nothing', async () => {
    const orderId = await waitingOrderOfA();
    const notification = {
      id: `evt_${randomUUID()}`,
      type: 'payment.authentication.succeeded',
      created: Math.floor(Date.now() / 1000),
      data: { orderId },
    };
    for (const token of [SERVICE, undefined]) {
      const res = await call(token, { method: 'POST', path: '/webhooks/payments', body: notification });
      assert.equal(res.status, 401, await res.clone().text());
      assert.equal(res.headers.get('Content-Type'), 'application/problem+json');
      assert.match(res.headers.get('WWW-Authenticate') ?? '', /^Payment-Signature /);
    }
    assert.equal(await statusOf(orderId), 'AWAITING_PAYMENT_CONFIRMATION');
  });

  it('the public routes answer without a token', async () => {
    const expected: Record<string, RegExp> = {
      '/healthz': /^application\/json/,
      '/readyz': /^application\/json/,
      '/metrics': /^text\/plain/,
      '/openapi.json': /^application\/json/,
      '/docs': /^text\/html/,
    };
    for (const [path, contentType] of Object.entries(expected)) {
      const res = await call(undefined, { method: 'GET', path });
      assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
      assert.match(res.headers.get('Content-Type') ?? '', contentType, path);
      assert.equal(res.headers.get('WWW-Authenticate'), null, path);
    }
  });

  it('a customer places its own order, which its token then reads', async () => {
    const asA = await idp.token({ sub: A, scope: CUSTOMER_SCOPES });
    const placed = await call(asA, {
      method: 'POST',
      path: '/checkouts',
      key: true,
      body: checkoutRequest({ customerId: A, sku }),
    });
    assert.equal(placed.status, 202);
    const { orderId } = (await placed.json()) as { orderId: string };
    const read = await call(asA, { method: 'GET', path: `/checkouts/${orderId}` });
    assert.equal(read.status, 200);
    assert.equal(((await read.json()) as { customerId: string }).customerId, A);
  });
});
