import { createHash } from 'node:crypto';
import type { Tx } from '../lib/db';
import { IdempotencyKeyReused } from './errors';

/** One client's Idempotency-Key and the hash of the request it came with. */
export interface IdempotencyClaim {
  /** Who sent it: keys are scoped per principal, so two clients never share one. */
  principal: string;
  key: string;
  /** `requestHash(body)` of this request. */
  requestHash: string;
}

/** Canonical JSON (sorted keys, undefined dropped) so equal bodies hash equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 (hex) of the request's canonical JSON: what a replay must match. */
export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/**
 * The first half of the idempotency protocol, inside the caller's transaction. Takes an advisory
 * lock on the key until the transaction ends, so requests with one key are serialised; then
 * answers with the stored response of an earlier request with the same body (a replay), or
 * `undefined` when the key is free. An expired key is deleted and counts as free.
 *
 * @throws IdempotencyKeyReused when the key is live and was used with another body.
 * @example
 * const replay = await claimIdempotencyKey<Accepted>(tx, { principal, key, requestHash: requestHash(body) });
 * if (replay) return replay;
 */
export async function claimIdempotencyKey<Stored>(tx: Tx, claim: IdempotencyClaim): Promise<Stored | undefined> {
  const { principal, key } = claim;
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${principal}:${key}`]);
  const { rows } = await tx.query<{ request_hash: string; order_id: string; response: Stored; expired: boolean }>(
    'SELECT request_hash, order_id, response, expires_at < now() AS expired FROM idempotency_keys WHERE principal = $1 AND key = $2',
    [principal, key],
  );
  const existing = rows[0];
  if (existing && !existing.expired) {
    if (existing.request_hash !== claim.requestHash) throw new IdempotencyKeyReused();
    return existing.response;
  }
  if (existing) await tx.query('DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2', [principal, key]);
  return undefined;
}

/**
 * The second half: stores the response for the claimed key, in the same transaction as the
 * order it answers for, remembered for `ttlMs`.
 *
 * @example
 * await rememberIdempotencyKey(tx, claim, { orderId, response: accepted, ttlMs: 86_400_000 });
 */
export async function rememberIdempotencyKey<Stored>(
  tx: Tx,
  claim: IdempotencyClaim,
  answer: { orderId: string; response: Stored; ttlMs: number },
): Promise<void> {
  await tx.query(
    `INSERT INTO idempotency_keys (principal, key, request_hash, order_id, response, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
    [
      claim.principal,
      claim.key,
      claim.requestHash,
      answer.orderId,
      JSON.stringify(answer.response),
      answer.ttlMs / 1000,
    ],
  );
}
