import type { Pool, PoolClient } from 'pg';

/** A Postgres connection pool (`pg.Pool`): what the kit runs its transactions on. */
export type Db = Pool;
/** A client of the pool inside one transaction: handlers run their effects through it. */
export type Tx = PoolClient;

/** pg's error for a statement that got no answer within the pool's `query_timeout` (pg 8, client.js). */
function isClientTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === 'Query read timeout';
}

/**
 * Runs `fn` in one transaction: COMMIT if it resolves, ROLLBACK (and rethrow) if it throws.
 *
 * @example
 * await withTransaction(db, async (tx) => { await tx.query('UPDATE ...'); });
 */
export async function withTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await db.connect();
  let broken: Error | undefined;
  // The pool listens for errors only on idle clients: a connection lost while this one is checked
  // out but between two queries (Postgres restarted) would otherwise be an unhandled 'error' event
  // and kill the process. Remember it instead; the next query fails and the client is discarded.
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    if (isClientTimeout(err)) {
      // The connection still owes the timed-out statement's answer: a ROLLBACK would queue behind
      // it and time out in turn. Discarding the connection rolls the transaction back on the server.
      broken = err as Error;
      throw err;
    }
    try {
      await client.query('ROLLBACK');
    } catch (rollbackErr) {
      // The connection is unusable; release it destroyed so the pool does not reuse it.
      broken = rollbackErr as Error;
    }
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
