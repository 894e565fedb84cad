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
