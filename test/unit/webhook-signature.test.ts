import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { InvalidCredential } from '../../auth/errors';
import { signWebhook, verifyWebhookSignature } from '../../auth/webhook-signature';

const SECRET = 'whsec-unit-0123456789abcdef';
const NOW = new Date('2026-11-20T12:00:00Z');
const T = Math.floor(NOW.getTime() / 1000);
const body = new TextEncoder().encode('{"id":"evt_1","type":"payment.authentication.succeeded"}');
/** The provider's computation, written out independently of our signer. */
const hmac = (secret: string, t: number) => createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');

const verify = (header: string | undefined, now = NOW) =>
  verifyWebhookSignature({ header, body, secrets: [SECRET], now });
const refusal = (header: string | undefined, now = NOW): string => {
  try {
    verify(header, now);
  } catch (err) {
    if (err instanceof InvalidCredential) return err.description;
    throw err;
  }
  assert.fail('expected the signature to be refused');
};

describe('payment webhook signatures', () => {
  it('accepts the HMAC-SHA256 of "<t>.<raw body>" made with the secret', () => {
    verify(`t=${T},v1=${hmac(SECRET, T)}`);
  });

  it('signs exactly as a provider computes it', () => {
    assert.equal(signWebhook(body, [SECRET], NOW), `t=${T},v1=${hmac(SECRET, T)}`);
  });

  it('accepts any one matching v1 among several (a provider rotating its secret)', () => {
    verify(`t=${T},v1=${hmac('whsec-other-0123456789', T)},v1=${hmac(SECRET, T)}`);
  });

  it('accepts a timestamp up to 5 minutes away either way, and refuses one beyond', () => {
    verify(`t=${T - 300},v1=${hmac(SECRET, T - 300)}`);
    verify(`t=${T + 300},v1=${hmac(SECRET, T + 300)}`);
    assert.match(refusal(`t=${T - 301},v1=${hmac(SECRET, T - 301)}`), /more than 300 s from now/);
    assert.match(refusal(`t=${T + 301},v1=${hmac(SECRET, T + 301)}`), /more than 300 s from now/);
  });

  it('refuses a signature over another timestamp than the one sent', () => {
    assert.match(refusal(`t=${T},v1=${hmac(SECRET, T - 1)}`), /does not match/);
  });

  it('refuses a missing or malformed header', () => {
    assert.match(refusal(undefined), /missing/);
    for (const header of ['', `v1=${hmac(SECRET, T)}`, `t=${T}`, `t=${T},v1=abc`, `t=now,v1=${hmac(SECRET, T)}`])
      assert.match(refusal(header), /must be "t=<unix seconds>,v1=<hex HMAC-SHA256>"/);
  });
});
