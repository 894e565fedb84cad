import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApp } from '../../api/app';
import type { createCheckoutService } from '../../checkouts/service';
import { createHttpMetrics } from '../../api/metrics';
import { BODY_LIMIT_BYTES, isJsonContentType } from '../../api/request-gate';
import type { Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { checkoutRequest, serviceTokenAccess } from '../support/api';

const TOKEN = 'unit-token-0123456789abcdef';

/**
 * The app over services that must never be reached: every case here is answered by routing,
 * the request gate, auth or validation, so a call into the service or the database is a bug
 * (recorded, and answered with a 500 that the assertions would catch).
 */
function appWithoutBackends() {
  const reached: string[] = [];
  const refuse = (what: string) => () => {
    reached.push(what);
    return Promise.reject(new Error(`${what} must not be reached`));
  };
  const checkouts = {
    place: refuse('place'),
    get: refuse('get'),
    cancel: refuse('cancel'),
    confirmPayment: refuse('confirmPayment'),
  } as unknown as ReturnType<typeof createCheckoutService>;
  const db = { query: refuse('db.query') } as unknown as Db;
  const app = createApp({
    db,
    checkouts,
    ...serviceTokenAccess(db, TOKEN),
    readiness: {},
    logger: createLogger('api-errors-test', 'silent'),
    metrics: createHttpMetrics(),
  });
  return { app, reached };
}

const auth = { Authorization: `Bearer ${TOKEN}` };
const json = { ...auth, 'Content-Type': 'application/json' };
const checkout = checkoutRequest({ customerId: 'cust-unit' });

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
}

/** Asserts an RFC 9457 body whose status matches the response, and returns it. */
async function problemOf(res: Response, status: number): Promise<Problem> {
  assert.equal(res.status, status);
  assert.equal(res.headers.get('Content-Type'), 'application/problem+json');
  const body = (await res.json()) as Problem;
  assert.match(body.type, /^https:\/\/checkout-saga\.dev\/problems\/[a-z0-9-]+$/);
  assert.equal(typeof body.title, 'string');
  assert.ok(body.title.length > 0);
  assert.equal(body.status, status);
  assert.equal(typeof body.detail, 'string');
  return body;
}

describe('API errors: 404, 405, 413 and 415 as problem+json', () => {
  it('404 for an unknown path, also under a protected prefix and without a token', async () => {
    const { app } = appWithoutBackends();
    for (const path of ['/nope', '/checkouts/a/b/c', '/checkouts/', '/inventory', '/orders/x']) {
      const problem = await problemOf(await app.request(path, { headers: auth }), 404);
      assert.equal(problem.type, 'https://checkout-saga.dev/problems/not-found');
    }
    await problemOf(await app.request('/checkouts/a/b/c'), 404);
  });

  it('405 with Allow for a known path under another method, before auth', async () => {
    const { app, reached } = appWithoutBackends();
    const cases: [string, string, string][] = [
      ['DELETE', '/checkouts', 'POST'],
      ['GET', '/checkouts', 'POST'],
      ['PUT', '/checkouts/3b1e7f8a-4b8e-4f0e-9c7a-1d2e3f4a5b6c', 'GET, HEAD'],
      ['GET', '/checkouts/x/cancel', 'POST'],
      ['POST', '/inventory/SKU-001', 'GET, HEAD, PUT'],
      ['OPTIONS', '/orders', 'GET, HEAD'],
      ['PATCH', '/healthz', 'GET, HEAD'],
      ['POST', '/openapi.json', 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      for (const headers of [auth, {}]) {
        const res = await app.request(path, { method, headers });
        const problem = await problemOf(res, 405);
        assert.equal(res.headers.get('Allow'), allow, `${method} ${path}`);
        assert.equal(problem.type, 'https://checkout-saga.dev/problems/method-not-allowed');
      }
    }
    // HEAD answers like GET (no body): 405 with Allow where GET is not routed.
    const head = await app.request('/checkouts', { method: 'HEAD', headers: auth });
    assert.equal(head.status, 405);
    assert.equal(head.headers.get('Allow'), 'POST');
    assert.equal((await app.request('/healthz', { method: 'HEAD' })).status, 200);
    // Refused with a body unread: the connection closes; without a body it stays open.
    const withBody = await app.request('/checkouts', {
      method: 'PUT',
      headers: { ...auth, 'Content-Length': '2' },
      body: '{}',
    });
    assert.equal(withBody.status, 405);
    assert.equal(withBody.headers.get('Connection'), 'close');
    assert.equal(
      (await app.request('/checkouts', { method: 'DELETE', headers: auth })).headers.get('Connection'),
      null,
    );
    assert.deepEqual(reached, []);
  });

  it('415 unless Content-Type is application/json (charset UTF-8 allowed) on routes that take JSON', async () => {
    const { app, reached } = appWithoutBackends();
    const body = JSON.stringify(checkout);
    const refused = [
      undefined,
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/vnd.api+json',
      'application/json; charset=latin1',
      'application/jsonx',
      'application/json;',
    ];
    for (const type of refused) {
      const headers = { ...auth, 'Idempotency-Key': 'k-415', ...(type === undefined ? {} : { 'Content-Type': type }) };
      for (const [method, path] of [
        ['POST', '/checkouts'],
        ['PUT', '/inventory/SKU-001'],
        ['POST', '/checkouts/x/payment-confirmation'],
      ] as const) {
        const problem = await problemOf(await app.request(path, { method, headers, body }), 415);
        assert.equal(
          problem.type,
          'https://checkout-saga.dev/problems/unsupported-media-type',
          `${method} ${path} with ${type}`,
        );
      }
    }
    // Accepted media types reach validation (a 400 here: the body misses fields), not a 415.
    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset="UTF-8"']) {
      await problemOf(
        await app.request('/inventory/SKU-001', {
          method: 'PUT',
          headers: { ...auth, 'Content-Type': type },
          body: '{}',
        }),
        400,
      );
    }
    assert.deepEqual(reached, []);
  });

  it('isJsonContentType accepts application/json with a UTF-8 charset only', () => {
    assert.equal(isJsonContentType('application/json'), true);
    assert.equal(isJsonContentType('application/json; charset=utf-8'), true);
    assert.equal(isJsonContentType('application/json;charset=UTF8'), true);
    assert.equal(isJsonContentType('application/json; charset=utf-16'), false);
    assert.equal(isJsonContentType('application/problem+json'), false);
    assert.equal(isJsonContentType(''), false);
    assert.equal(isJsonContentType(undefined), false);
  });

  describe(`413 for a body over ${BODY_LIMIT_BYTES} bytes`, () => {
    const headers = { ...json, 'Idempotency-Key': 'k-413' };

    it('refuses a body whose Content-Length is over the limit, and closes the connection', async () => {
      const { app, reached } = appWithoutBackends();
      const big = JSON.stringify({ ...checkout, customerId: 'x'.repeat(BODY_LIMIT_BYTES) });
      const byLength = await app.request('/checkouts', {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(big)) },
        body: big,
      });
      const problem = await problemOf(byLength, 413);
      // The rest of the body is never read, so the connection is not reused for another request.
      assert.equal(byLength.headers.get('Connection'), 'close');
      assert.equal(problem.type, 'https://checkout-saga.dev/problems/content-too-large');
      assert.match(problem.detail, new RegExp(String(BODY_LIMIT_BYTES)));
      assert.deepEqual(reached, []);
    });

    it('cuts a body streamed without Content-Length once it passes the limit', async () => {
      const { app, reached } = appWithoutBackends();
      // No Content-Length: the stream is counted while read and cut at the limit.
      let pulled = 0;
      const chunk = new TextEncoder().encode(' '.repeat(16 * 1024));
      const endless = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
      const streamed = await app.request('/checkouts', {
        method: 'POST',
        headers,
        body: endless,
        duplex: 'half',
      } as RequestInit);
      await problemOf(streamed, 413);
      assert.ok(pulled < BODY_LIMIT_BYTES * 4, `stopped reading after ${pulled} bytes`);
      assert.deepEqual(reached, []);
    });

    it('reads and validates a body of exactly the limit (here a 400), rather than refusing it', async () => {
      const { app, reached } = appWithoutBackends();
      const atLimit = JSON.stringify({ customerId: 'x' }).padEnd(BODY_LIMIT_BYTES, ' ');
      await problemOf(await app.request('/checkouts', { method: 'POST', headers, body: atLimit }), 400);
      assert.deepEqual(reached, []);
    });

    it('limits routes without a JSON body too', async () => {
      const { app, reached } = appWithoutBackends();
      await problemOf(
        await app.request('/checkouts/x/cancel', {
          method: 'POST',
          headers: { ...auth, 'Content-Length': String(BODY_LIMIT_BYTES + 1) },
          body: ' '.repeat(BODY_LIMIT_BYTES + 1),
        }),
        413,
      );
      assert.deepEqual(reached, []);
    });
  });

  describe('401 before anything else, then 400 with field paths for malformed and hostile input', () => {
    const post = (app: ReturnType<typeof appWithoutBackends>['app'], body: string | Buffer, key = 'k-400') =>
      app.request('/checkouts', { method: 'POST', headers: { ...json, 'Idempotency-Key': key }, body });

    it('401 keeps WWW-Authenticate, and comes before the body is parsed', async () => {
      const { app, reached } = appWithoutBackends();
      const unauth = await app.request('/checkouts', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'k' },
        body: '{}',
      });
      await problemOf(unauth, 401);
      assert.match(unauth.headers.get('WWW-Authenticate') ?? '', /^Bearer /);
      // Authentication comes before the body is parsed: an anonymous client learns nothing more.
      await problemOf(
        await app.request('/checkouts', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'k' },
          body: '{"oops',
        }),
        401,
      );
      assert.deepEqual(reached, []);
    });

    it('a body that is not a checkout object, however deep or odd, is a 400', async () => {
      const { app, reached } = appWithoutBackends();
      for (const body of [
        '',
        '{"customerId":',
        'null',
        '[]',
        '"x"',
        '1e400',
        '\uFEFF{}',
        '['.repeat(20_000) + ']'.repeat(20_000),
      ]) {
        await problemOf(await post(app, body), 400);
      }
      assert.deepEqual(reached, []);
    });

    it('malformed JSON, and invalid UTF-8 inside a string, are a malformed-json problem', async () => {
      const { app, reached } = appWithoutBackends();
      for (const body of ['', '{"customerId":', '{"a":1,}', "{'a':1}"]) {
        assert.equal(
          (await problemOf(await post(app, body), 400)).type,
          'https://checkout-saga.dev/problems/malformed-json',
        );
      }
      // Invalid UTF-8 inside an otherwise well-formed string: refused, not decoded to U+FFFD and accepted.
      const badUtf8 = Buffer.concat([
        Buffer.from('{"customerId":"'),
        Buffer.from([0xc3, 0x28, 0xff]),
        Buffer.from('"}'),
      ]);
      const utf8 = await problemOf(await post(app, badUtf8, 'k-utf8'), 400);
      assert.equal(utf8.type, 'https://checkout-saga.dev/problems/malformed-json');
      assert.deepEqual(reached, []);
    });

    it('NUL characters in fields are refused with the path of each field', async () => {
      const { app, reached } = appWithoutBackends();
      const nul = await problemOf(
        await post(
          app,
          JSON.stringify({
            ...checkout,
            customerId: 'a\u0000b',
            shippingAddress: { ...checkout.shippingAddress, city: '\u0000' },
          }),
        ),
        400,
      );
      assert.deepEqual(nul.errors?.map((e) => e.path).sort(), ['json.customerId', 'json.shippingAddress.city']);
      assert.deepEqual(reached, []);
    });

    it('__proto__ and constructor keys are refused by the strict schema and pollute nothing', async () => {
      const { app, reached } = appWithoutBackends();
      const proto = await problemOf(
        await post(
          app,
          `{"__proto__":{"admin":true},"constructor":{"prototype":{}},${JSON.stringify(checkout).slice(1)}`,
        ),
        400,
      );
      assert.ok(
        proto.errors?.some((e) => e.path === 'json'),
        'unknown keys are refused by the strict schema',
      );
      assert.equal(({} as Record<string, unknown>).admin, undefined, 'no prototype was polluted');
      assert.deepEqual(reached, []);
    });

    it('a quantity of 1e308 is a 400 at its path', async () => {
      const { app, reached } = appWithoutBackends();
      const huge = await problemOf(
        await post(app, JSON.stringify({ ...checkout, items: [{ sku: 'SKU-001', quantity: 1e308 }] })),
        400,
      );
      assert.deepEqual([...new Set(huge.errors?.map((e) => e.path))], ['json.items.0.quantity']);
      assert.deepEqual(reached, []);
    });

    it('NUL in a path or query parameter is a 400', async () => {
      const { app, reached } = appWithoutBackends();
      await problemOf(await app.request('/inventory/%00', { headers: auth }), 400);
      await problemOf(await app.request('/orders?customerId=%00', { headers: auth }), 400);
      assert.deepEqual(reached, []);
    });
  });

  it('documents the body limit and the shared error rules in the OpenAPI description', async () => {
    const { app } = appWithoutBackends();
    const doc = (await (await app.request('/openapi.json')).json()) as { info: { description?: string } };
    assert.match(doc.info.description ?? '', new RegExp(`${BODY_LIMIT_BYTES} bytes`));
  });
});
