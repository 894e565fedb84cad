import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidCredential } from './errors';

/** How far a signature's `t` may be from now, either way: a captured request cannot be replayed later. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** HMAC-SHA256 of `"<t>.<raw body>"`: the bytes as received, never a re-serialised body. */
function mac(secret: string, timestamp: string, body: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

/**
 * The `Payment-Signature` header a provider sends with `body`: `t=<unix seconds>,v1=<hex>`, one
 * `v1` per secret (a provider rotating its secret signs with the old and the new one).
 *
 * @example
 * signWebhook(body, ['whsec_new', 'whsec_old'], new Date()); // 't=1767225600,v1=9f…,v1=03…'
 */
export function signWebhook(body: Uint8Array, secrets: readonly string[], at: Date): string {
  const t = String(Math.floor(at.getTime() / 1000));
  return [`t=${t}`, ...secrets.map((s) => `v1=${mac(s, t, body).toString('hex')}`)].join(',');
}

function parseHeader(header: string): { t: string; v1: Buffer[] } {
  let t: string | undefined;
  const v1: Buffer[] = [];
  for (const part of header.split(',')) {
    const [key = '', value = ''] = part.trim().split('=', 2);
    if (key === 't' && /^\d{1,12}$/.test(value)) t = value;
    // Other schemes (a future v2) are ignored; a v1 that is not 32 bytes of hex cannot match.
    if (key === 'v1' && /^[0-9a-fA-F]{64}$/.test(value)) v1.push(Buffer.from(value, 'hex'));
  }
  if (t === undefined || v1.length === 0)
    throw new InvalidCredential('Payment-Signature must be "t=<unix seconds>,v1=<hex HMAC-SHA256>"');
  return { t, v1 };
}

/**
 * Checks a provider's `Payment-Signature` over the raw request body: `t` within
 * {@link SIGNATURE_TOLERANCE_SECONDS} of `now`, and some `v1` equal (constant-time) to the
 * HMAC-SHA256 of `"<t>.<body>"` under one of `secrets` (several while ours rotates).
 *
 * @throws InvalidCredential when the header is missing or malformed, stale, or matches no secret.
 * @example
 * verifyWebhookSignature({ header: c.req.header('Payment-Signature'), body, secrets, now: new Date() });
 */
export function verifyWebhookSignature(input: {
  header: string | undefined;
  body: Uint8Array;
  secrets: readonly string[];
  now: Date;
}): void {
  if (input.header === undefined) throw new InvalidCredential('the Payment-Signature header is missing');
  const { t, v1 } = parseHeader(input.header);
  if (Math.abs(input.now.getTime() / 1000 - Number(t)) > SIGNATURE_TOLERANCE_SECONDS)
    throw new InvalidCredential(`the signature's timestamp is more than ${SIGNATURE_TOLERANCE_SECONDS} s from now`);
  let matched = false;
  for (const secret of input.secrets) {
    const expected = mac(secret, t, input.body);
    for (const candidate of v1) if (timingSafeEqual(expected, candidate)) matched = true;
  }
  if (!matched) throw new InvalidCredential('the signature does not match the body');
}
