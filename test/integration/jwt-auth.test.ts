import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startApi } from '../support/api';
import { RunningComponents } from '../support/components';
import { startIdentityProvider, type TestIdentityProvider, type TokenOptions } from '../support/identity-provider';
import { testConfig, testDb, testLogger } from '../support/services';

/**
 * OpenID Connect access tokens at the real API, verified against a real JWKS served by a test
 * identity provider: what is accepted, and each way a token is refused (401 with an RFC 6750
 * challenge, never a 5xx), plus the provider being unreachable (503, retry).
 */

const SERVICE_TOKEN = 'jwt-suite-service-token-0123456789';

/** A port nothing listens on: a JWKS URL there cannot be fetched. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('OpenID Connect access tokens', () => {
  const components = new RunningComponents();
  let idp: TestIdentityProvider;
  let base = '';

  before(async () => {
    idp = await startIdentityProvider();
    const config = testConfig({
      PORT: '0',
      API_TOKENS: SERVICE_TOKEN,
      AUTH_JWKS_URL: idp.jwksUrl,
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: idp.audience,
    });
    await (await testDb(config)).end();
    const api = startApi(config, testLogger('jwt-auth'), components.signal);
    components.add(api.running);
    base = await api.base;
  });

  after(async () => {
    await components.stopAll();
    await idp?.close();
  });

  /** GET /orders of `sub`: needs a valid token and checkout:read. */
  const listOrders = (token: string | undefined, sub = 'cust-a') =>
    fetch(`${base}/orders?customerId=${sub}`, {
      headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
    });

  async function assertRefused(options: TokenOptions, description: RegExp): Promise<void> {
    const res = await listOrders(await idp.token({ scope: 'checkout:read', ...options }));
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('Content-Type'), 'application/problem+json');
    const challenge = res.headers.get('WWW-Authenticate') ?? '';
    assert.match(challenge, /^Bearer realm="checkout-saga", error="invalid_token", error_description="[^"\\]+"$/);
    assert.match(challenge, description);
    const problem = (await res.json()) as { status: number; detail: string };
    assert.equal(problem.status, 401);
    assert.match(problem.detail, description);
  }

  it('accepts a token signed with the provider’s ES256 key', async () => {
    const res = await listOrders(await idp.token({ scope: 'checkout:read' }));
    assert.equal(res.status, 200);
  });

  it('accepts a token signed with the provider’s RS256 key', async () => {
    const res = await listOrders(await idp.token({ scope: 'checkout:read', key: 'rs256' }));
    assert.equal(res.status, 200);
  });

  it('takes scopes from an scp array as well as from the scope claim', async () => {
    assert.equal((await listOrders(await idp.token({ scp: ['checkout:read'] }))).status, 200);
  });

  it('refuses an unsigned token (alg: none)', async () => {
    await assertRefused({ key: 'none' }, /malformed or unsigned|unsupported|not accepted/);
  });

  it('refuses a token signed with HS256, even with the public keys as the secret', async () => {
    await assertRefused({ key: 'hs256' }, /algorithm that is not accepted/);
  });

  it('refuses a token signed by a key the provider does not publish', async () => {
    await assertRefused({ key: 'unknown' }, /unknown key/);
  });

  it('refuses a token from another issuer', async () => {
    await assertRefused({ issuer: 'https://evil.example/' }, /'iss' claim is not accepted/);
  });

  it('refuses a token for another audience', async () => {
    await assertRefused({ audience: 'another-api' }, /'aud' claim is not accepted/);
  });

  it('refuses an expired token', async () => {
    await assertRefused({ expiresIn: -120 }, /expired/);
  });

  it('accepts a token expired by less than the 30 s leeway', async () => {
    assert.equal((await listOrders(await idp.token({ scope: 'checkout:read', expiresIn: -10 }))).status, 200);
  });

  it('refuses a token that is not valid yet (nbf beyond the leeway)', async () => {
    await assertRefused({ notBefore: 300 }, /'nbf' claim/);
  });

  it('refuses a token without an expiry', async () => {
    await assertRefused({ claims: { exp: undefined } }, /no 'exp' claim/);
  });

  it('refuses a token without a subject', async () => {
    await assertRefused({ claims: { sub: undefined } }, /no 'sub' claim/);
  });

  it('refuses a token whose signature was tampered with', async () => {
    const [header, , signature] = (await idp.token({ scope: 'checkout:read' })).split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'cust-a', scope: 'checkout:read checkout:any' })).toString(
      'base64url',
    );
    const res = await listOrders(`${header}.${forged}.${signature}`);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('WWW-Authenticate') ?? '', /error="invalid_token"/);
  });

  it('answers a request without a token with a bare Bearer challenge (no error code)', async () => {
    const res = await listOrders(undefined);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('WWW-Authenticate'), 'Bearer realm="checkout-saga"');
  });

  it('answers a missing scope with 403 and an insufficient_scope challenge', async () => {
    const res = await listOrders(await idp.token({ scope: 'checkout:write' }));
    assert.equal(res.status, 403);
    assert.equal(
      res.headers.get('WWW-Authenticate'),
      'Bearer realm="checkout-saga", error="insufficient_scope", scope="checkout:read"',
    );
  });

  it('still accepts the service tokens of API_TOKENS beside JWTs', async () => {
    assert.equal((await listOrders(SERVICE_TOKEN)).status, 200);
  });

  it('fetched the JWKS once for all the tokens above (the keys are cached)', () => {
    assert.equal(idp.jwksRequests, 1);
  });

  it('answers 503 with Retry-After, not 401, when the provider’s keys cannot be fetched', async () => {
    const config = testConfig({
      PORT: '0',
      API_TOKENS: SERVICE_TOKEN,
      AUTH_JWKS_URL: `http://127.0.0.1:${await closedPort()}/jwks.json`,
      AUTH_ISSUER: idp.issuer,
      AUTH_AUDIENCE: idp.audience,
    });
    const api = startApi(config, testLogger('jwt-auth-no-idp'), components.signal);
    components.add(api.running);
    const res = await fetch(`${await api.base}/orders?customerId=cust-a`, {
      headers: { Authorization: `Bearer ${await idp.token({ scope: 'checkout:read' })}` },
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('Retry-After'), '5');
    assert.equal(
      ((await res.json()) as { type: string }).type,
      'https://checkout-saga.dev/problems/identity-provider-unavailable',
    );
  });
});
