import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SCOPES } from '../../auth/principal';
import { ConfigError, DEV_PAYMENT_WEBHOOK_SECRET, loadConfig } from '../../lib/config';

/** The configuration of who may do what: scoped API_TOKENS, the OIDC provider, webhook secrets, quotas. */

const errorOf = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  assert.fail('expected a ConfigError');
};

/** A production configuration needs payload keys; any 32 bytes do here. */
const PRODUCTION_KEY = `k1=${Buffer.alloc(32, 7).toString('base64')}`;

describe('access configuration', () => {
  it('gives a plain API token every scope, and a token:scope+scope entry only those', () => {
    const c = loadConfig({ API_TOKENS: 'aaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbb:checkout:read+checkout:any' });
    assert.deepEqual(c.api.serviceTokens, [
      { token: 'aaaaaaaaaaaaaaaa', scopes: [...SCOPES] },
      { token: 'bbbbbbbbbbbbbbbb', scopes: ['checkout:read', 'checkout:any'] },
    ]);
    assert.deepEqual(c.api.tokens, ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
  });

  it('names an unknown scope and the entry’s position, never the token itself', () => {
    const message = errorOf({ API_TOKENS: 'aaaaaaaaaaaaaaaa,secret-token-bbbbbbbb:checkout:reed' });
    assert.match(message, /API_TOKENS\.1: unknown scope\(s\) "checkout:reed"/);
    assert.doesNotMatch(message, /secret-token/);
  });

  it('refuses a short token without echoing it', () => {
    const message = errorOf({ API_TOKENS: 'short:checkout:read' });
    assert.match(message, /API_TOKENS\.0: each API token needs at least 16 printable characters/);
    assert.doesNotMatch(message, /short/);
  });

  it('takes the OIDC provider only with all three of AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE', () => {
    assert.equal(loadConfig({}).auth.jwt, undefined);
    assert.match(errorOf({ AUTH_JWKS_URL: 'https://idp.example/jwks.json' }), /set all three/);
    assert.match(
      errorOf({ AUTH_JWKS_URL: 'file:///jwks.json', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' }),
      /AUTH_JWKS_URL: expected the http\(s\) URL of a JWKS/,
    );
    const c = loadConfig({
      AUTH_JWKS_URL: 'https://idp.example/jwks.json',
      AUTH_ISSUER: 'https://idp.example/',
      AUTH_AUDIENCE: 'checkout-api',
    });
    assert.deepEqual(c.auth.jwt, {
      jwksUrl: 'https://idp.example/jwks.json',
      issuer: 'https://idp.example/',
      audience: 'checkout-api',
    });
  });

  it('uses the development webhook secret outside production only, and several secrets when given', () => {
    assert.deepEqual(loadConfig({}).webhooks, { paymentSecrets: [DEV_PAYMENT_WEBHOOK_SECRET], usingDevSecret: true });
    assert.deepEqual(
      loadConfig({ NODE_ENV: 'production', API_TOKENS: 'aaaaaaaaaaaaaaaa', PAYLOAD_KEYS: PRODUCTION_KEY }).webhooks,
      {
        paymentSecrets: [],
        usingDevSecret: false,
      },
    );
    const rotating = loadConfig({ PAYMENT_WEBHOOK_SECRET: 'whsec-new-0123456789,whsec-old-0123456789' });
    assert.deepEqual(rotating.webhooks.paymentSecrets, ['whsec-new-0123456789', 'whsec-old-0123456789']);
    assert.match(errorOf({ PAYMENT_WEBHOOK_SECRET: 'short' }), /PAYMENT_WEBHOOK_SECRET\.0: each webhook secret/);
  });

  it('parses write quotas as <requests>/<window> or off, with defaults 60/1m and 6000/1m', () => {
    assert.deepEqual(loadConfig({}).rateLimits, {
      customer: { limit: 60, windowSeconds: 60 },
      service: { limit: 6000, windowSeconds: 60 },
    });
    const c = loadConfig({ RATE_LIMIT_CUSTOMER_WRITES: '20/10s', RATE_LIMIT_SERVICE_WRITES: 'off' });
    assert.deepEqual(c.rateLimits, { customer: { limit: 20, windowSeconds: 10 }, service: undefined });
    for (const bad of ['0/1m', '10/0s', '10/500ms', 'ten/1m', '10 per minute'])
      assert.match(errorOf({ RATE_LIMIT_CUSTOMER_WRITES: bad }), /RATE_LIMIT_CUSTOMER_WRITES: expected off or/);
  });
});
