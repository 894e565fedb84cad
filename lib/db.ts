import pg from 'pg';
import type { Db } from '../events/consumer/transaction';

// One transaction helper for the app and the consumer kit: the kit ships it (other teams install
// the kit without this folder), so the app takes it from there.
export { withTransaction, type Db, type Tx } from '../events/consumer/transaction';

/**
 * Creates the process's connection pool. One per process, created by the entry point and injected.
 *
 * @example
 * const db = createDb(config.database.url, { max: 10, applicationName: 'checkout-api' });
 */
export function createDb(url: string, opts: { max?: number; applicationName: string }): Db {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, application_name: opts.applicationName });
  // An idle client losing its connection (e.g. Postgres restarted) must not crash the process;
  // the pool discards it and the next query gets a fresh one.
  pool.on('error', () => undefined);
  return pool;
}

/** Socket errors of a connection that could not be made or was lost (`err.code` from node:net). */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
/** SQLSTATE 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (e.g. starting up, fail-over). */
const SHUTDOWN_STATES = new Set(['57P01', '57P02', '57P03']);
/** SQLSTATE class 08, connection exception. */
const CONNECTION_EXCEPTION = /^08[0-9A-Z]{3}$/;
/**
 * What pg and pg-pool throw without a code: the pool's `connectionTimeoutMillis` spent waiting
 * for a client or for a new connection, and a connection cut under a query.
 */
const CONNECTION_MESSAGES = new Set([
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
  'Connection terminated unexpectedly',
]);

/**
 * Whether `err` says PostgreSQL could not be reached (or went away), not that a statement was
 * wrong: the caller may answer "unavailable, retry" instead of a bug's 500. Follows `cause` and an
 * AggregateError's `errors` (Node's happy-eyeballs connect reports one per address tried).
 *
 * @example
 * await pool.query('SELECT 1').catch((err) => isConnectionFailure(err)); // true while Postgres is down
 */
export function isConnectionFailure(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 4) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_ERRNOS.has(code) || SHUTDOWN_STATES.has(code))) return true;
  if (typeof code === 'string' && CONNECTION_EXCEPTION.test(code)) return true;
  if (CONNECTION_MESSAGES.has(err.message)) return true;
  const nested = [err.cause, ...(err instanceof AggregateError ? (err.errors as unknown[]) : [])];
  return nested.some((inner) => isConnectionFailure(inner, depth + 1));
}
