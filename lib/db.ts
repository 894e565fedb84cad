import pg from 'pg';
import type { Db } from '../events/consumer/transaction';

// One transaction helper for the app and the consumer kit: the kit ships it (other teams install
// the kit without this folder), so the app takes it from there.
export { withTransaction, type Db, type Tx } from '../events/consumer/transaction';

/** A pool's timeouts (`config.database.timeouts`); 0 turns one off. */
export interface DbTimeouts {
  /** Opening a connection (TCP, TLS, authentication). Waiting for a free one of a full pool stays unbounded. */
  connectMs: number;
  /** One statement: the server cancels it then; the client gives up on the connection a little later. */
  queryMs: number;
}

/**
 * How much longer than the server's statement_timeout the client waits for an answer. The server's
 * cancel comes first when the server is merely slow (the connection stays usable); only a
 * connection that answers nothing at all (held by a proxy, a network cut) reaches the client's
 * timeout, which fails the query and gets the connection discarded (the pool destroys a client
 * released with an error, which `pool.query` and `withTransaction` do).
 */
const CLIENT_GRACE_MS = 2_000;

/** The first TCP keepalive after this long idle, so a peer that vanished is noticed without a query. */
const KEEPALIVE_DELAY_MS = 10_000;

/**
 * Creates the process's connection pool. One per process, created by the entry point and injected.
 * `timeouts` is `config.database.timeouts`; tools whose statements legitimately run long
 * (migrations, bulk loads, VACUUM) pass it with `queryMs: 0`.
 *
 * @example
 * const db = createDb(config.database.url, { max: 10, applicationName: 'checkout-api', timeouts: config.database.timeouts });
 */
export function createDb(url: string, opts: { max?: number; applicationName: string; timeouts: DbTimeouts }): Db {
  const { connectMs, queryMs } = opts.timeouts;
  // On the client, not the pool: the pool's connectionTimeoutMillis would also bound the wait for
  // a free connection, and a busy process (the saga starter's 32 tasks on 4 connections) queues
  // there legitimately; only a connection attempt that gets no answer must fail.
  class TimedClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super({ ...config, connectionTimeoutMillis: connectMs });
    }
  }
  const pool = new pg.Pool({
    Client: TimedClient,
    connectionString: url,
    max: opts.max ?? 10,
    application_name: opts.applicationName,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    // Undefined, not 0: pg sends a statement_timeout startup parameter only when set.
    statement_timeout: queryMs > 0 ? queryMs : undefined,
    query_timeout: queryMs > 0 ? queryMs + CLIENT_GRACE_MS : undefined,
  });
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
