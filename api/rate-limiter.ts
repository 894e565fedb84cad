import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import { sleep } from '../lib/wait';

/** A quota: at most `limit` requests per `windowSeconds`, refilled continuously. */
export interface RatePolicy {
  limit: number;
  windowSeconds: number;
}

/** The outcome of one request against its principal's quota. */
export interface RateDecision {
  allowed: boolean;
  /** Requests still allowed right away (0 when refused). */
  remaining: number;
  /** Seconds until the quota is whole again (refused: until the next request is allowed). */
  resetSeconds: number;
  /** Refused only: seconds to wait before the next request is allowed (at least 1). */
  retryAfterSeconds: number;
}

export interface RateLimiter {
  /** Counts one request of `key` against `policy` and says whether it may go ahead. */
  take(key: string, policy: RatePolicy): Promise<RateDecision>;
}

/**
 * GCRA (the generic cell rate algorithm) in one statement: the row holds the principal's
 * theoretical arrival time `tat`; a request is allowed when max(tat, now) + T/limit is at most
 * now + T, and then moves `tat` there. A refused request leaves `tat` alone, so a client that keeps
 * hammering is not locked out for longer than its quota says. The upsert is atomic per row (a
 * concurrent request waits for the row lock and re-evaluates against the committed `tat`), and
 * `now()` is the database's clock, so every API process shares one count and one clock.
 */
const TAKE = `
INSERT INTO api_rate_limits AS r (principal, tat, allowed)
VALUES ($1, now() + $2::interval, true)
ON CONFLICT (principal) DO UPDATE SET
  allowed = greatest(r.tat, now()) + $2::interval <= now() + $3::interval,
  tat = CASE WHEN greatest(r.tat, now()) + $2::interval <= now() + $3::interval
             THEN greatest(r.tat, now()) + $2::interval ELSE r.tat END
RETURNING allowed, extract(epoch FROM tat - now()) * 1000 AS ahead_ms`;

/**
 * The GCRA arithmetic of one answer. The emission interval (window / limit) is rounded down to
 * whole microseconds, PostgreSQL's resolution, so `limit` requests always fit in a fresh window.
 */
export function decide(policy: RatePolicy, allowed: boolean, aheadMs: number): RateDecision {
  const windowMs = policy.windowSeconds * 1000;
  const emissionMs = Math.floor((windowMs * 1000) / policy.limit) / 1000;
  if (allowed) {
    return {
      allowed,
      remaining: Math.max(0, Math.floor((windowMs - aheadMs) / emissionMs + 1e-9)),
      resetSeconds: Math.max(0, Math.ceil(aheadMs / 1000)),
      retryAfterSeconds: 0,
    };
  }
  const retryAfterSeconds = Math.max(1, Math.ceil((aheadMs + emissionMs - windowMs) / 1000));
  return { allowed, remaining: 0, resetSeconds: retryAfterSeconds, retryAfterSeconds };
}

/**
 * Rate limits kept in PostgreSQL (`api_rate_limits`, unlogged): one statement per request, shared
 * by every API process.
 *
 * @example
 * const limiter = postgresRateLimiter(db);
 * const decision = await limiter.take('oidc:cust-42', { limit: 60, windowSeconds: 60 });
 */
export function postgresRateLimiter(db: Db): RateLimiter {
  return {
    async take(key, policy) {
      const emissionMicros = Math.floor((policy.windowSeconds * 1_000_000) / policy.limit);
      const { rows } = await db.query<{ allowed: boolean; ahead_ms: string }>({
        name: 'api-rate-limit-take',
        text: TAKE,
        values: [key, `${emissionMicros} microseconds`, `${policy.windowSeconds} seconds`],
      });
      const row = rows[0];
      if (!row) throw new Error('the rate-limit upsert returned no row');
      return decide(policy, row.allowed, Number(row.ahead_ms));
    },
  };
}

/**
 * Deletes the rows of principals whose quota is whole again (`tat` in the past: the same as no
 * row), so the table holds only recently active principals. Any API process may run it, at any time.
 *
 * @returns how many rows it deleted.
 */
export async function sweepRateLimits(db: Db): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM api_rate_limits WHERE tat < now()');
  return rowCount ?? 0;
}

/**
 * Runs {@link sweepRateLimits} every `intervalMs` until `signal` aborts; a failed sweep is logged
 * and tried again at the next interval (the table only grows meanwhile).
 *
 * @example
 * const sweeping = runRateLimitSweeper(db, { intervalMs: 60_000, logger, signal });
 * // …on shutdown: abort, then await sweeping
 */
export async function runRateLimitSweeper(
  db: Db,
  opts: { intervalMs: number; logger: Logger; signal: AbortSignal },
): Promise<void> {
  while (!opts.signal.aborted) {
    await sleep(opts.intervalMs, opts.signal);
    if (opts.signal.aborted) return;
    try {
      const deleted = await sweepRateLimits(db);
      if (deleted > 0) opts.logger.debug({ deleted }, 'rate-limit rows of idle principals deleted');
    } catch (err) {
      opts.logger.warn({ err }, 'rate-limit sweep failed; retrying at the next interval');
    }
  }
}
