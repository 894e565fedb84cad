import { Counter, Histogram, type Registry } from 'prom-client';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import { sleep } from '../lib/wait';

// Retention of Idempotency-Keys. A key is promised for its TTL (24 h): within it the same key
// gives the same order; once expired it is treated as unused (claimIdempotencyKey deletes it when
// it comes back). Without a sweep, a key that never comes back stays forever, so the table grows
// with every checkout. Deleting only expired keys keeps the promise exactly.

/** Rows one DELETE removes: small enough to hold its locks for milliseconds. */
export const KEY_SWEEP_BATCH = 1_000;
const BATCHES_PER_ROUND = 50;
const PAUSE_BETWEEN_BATCHES_MS = 20;

/**
 * Deletes up to `batch` expired Idempotency-Keys; keys locked by a concurrent claim (the same key
 * coming back) or another sweeper are skipped. Uses the BRIN index on `expires_at`.
 *
 * @returns how many keys were deleted.
 */
export async function sweepExpiredKeys(db: Db, batch = KEY_SWEEP_BATCH): Promise<number> {
  const { rowCount } = await db.query({
    name: 'api-sweep-idempotency-keys',
    text: `DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM idempotency_keys WHERE expires_at < now() LIMIT $1 FOR UPDATE SKIP LOCKED))`,
    values: [batch],
  });
  return rowCount ?? 0;
}

/** Counters of the key sweep on the process's registry. */
export interface KeySweepMetrics {
  swept: Counter;
  duration: Histogram;
}

export function createKeySweepMetrics(registry: Registry): KeySweepMetrics {
  return {
    swept: new Counter({
      name: 'idempotency_keys_swept_total',
      help: 'Expired Idempotency-Keys deleted by the retention sweep',
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'idempotency_key_sweep_seconds',
      help: 'Duration of one round of the Idempotency-Key sweep (small batches with pauses)',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers: [registry],
    }),
  };
}

/**
 * Every `intervalMs` until `signal` aborts, deletes expired keys in batches with a pause between
 * them (at most 50 batches a round, the rest next round); a failed round is logged and retried.
 *
 * @example
 * const sweeping = runKeySweeper(db, { intervalMs: 60_000, logger, signal, metrics });
 */
export async function runKeySweeper(
  db: Db,
  opts: { intervalMs: number; logger: Logger; signal: AbortSignal; metrics: KeySweepMetrics },
): Promise<void> {
  while (!opts.signal.aborted) {
    await sleep(opts.intervalMs, opts.signal);
    if (opts.signal.aborted) return;
    const started = performance.now();
    let deleted = 0;
    try {
      for (let i = 0; i < BATCHES_PER_ROUND && !opts.signal.aborted; i += 1) {
        const n = await sweepExpiredKeys(db);
        deleted += n;
        if (n < KEY_SWEEP_BATCH) break;
        await sleep(PAUSE_BETWEEN_BATCHES_MS, opts.signal);
      }
      if (deleted > 0) opts.logger.debug({ deleted }, 'expired Idempotency-Keys deleted');
    } catch (err) {
      opts.logger.warn({ err, deleted }, 'Idempotency-Key sweep failed; retrying at the next interval');
    } finally {
      opts.metrics.swept.inc(deleted);
      opts.metrics.duration.observe((performance.now() - started) / 1000);
    }
  }
}
