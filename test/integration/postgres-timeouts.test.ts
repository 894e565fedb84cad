import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../../lib/config';
import { createDb, withTransaction, type Db } from '../../lib/db';
import { startToxiproxy, type ToxiproxyServer } from '../../scripts/chaos/toxiproxy';
import { installedGoTool } from '../../scripts/stack/tools';
import { freePort } from '../support/ports';
import { testConfig, testDb } from '../support/services';

// The pool's timeouts (lib/db.ts) against a PostgreSQL that stops answering: toxiproxy's `timeout`
// toxic with timeout 0 holds every connection open and drops what the server sends, as a
// black-holed network does. Without the timeouts each query below would hang forever.

const PROXY = 'postgres-timeouts-test';
/** lib/db.ts's CLIENT_GRACE_MS: the client waits this much beyond the server's statement_timeout. */
const CLIENT_GRACE_MS = 2_000;
/** Timer and scheduling slack on a loaded machine. */
const SLACK_MS = 3_000;

/** Runs `fn`, expecting it to fail; returns the error and how long the failure took. */
async function failure(fn: () => Promise<unknown>): Promise<{ err: Error; ms: number }> {
  const started = Date.now();
  try {
    await fn();
  } catch (err) {
    return { err: err as Error, ms: Date.now() - started };
  }
  assert.fail('expected the call to fail while PostgreSQL does not answer');
}

describe('PostgreSQL client timeouts (a held connection)', () => {
  let config: Config;
  let proxy: ToxiproxyServer;
  let proxiedUrl: string;
  let db: Db;

  before(async () => {
    config = testConfig({ DATABASE_CONNECT_TIMEOUT: '2s', DATABASE_QUERY_TIMEOUT: '1s' });
    await (await testDb(config)).end();
    // Throws, naming the command that builds it, when toxiproxy is not in the cache: never a skip.
    const binary = installedGoTool(config.stack.binDir, 'toxiproxy');
    const logFile = join(mkdtempSync(join(tmpdir(), 'pg-timeouts-')), 'toxiproxy.log');
    proxy = await startToxiproxy(binary, await freePort(), logFile);
    const url = new URL(config.database.url);
    const listen = `127.0.0.1:${await freePort()}`;
    await proxy.api.createProxy(PROXY, listen, `${url.hostname}:${url.port || '5432'}`);
    url.host = listen;
    proxiedUrl = url.toString();
    db = createDb(proxiedUrl, { max: 2, applicationName: 'pg-timeouts-test', timeouts: config.database.timeouts });
  });

  after(async () => {
    await db?.end();
    await proxy?.stop();
  });

  it('fails a query on a held connection within the query timeout, then answers again once healed', async () => {
    const { queryMs } = config.database.timeouts;
    assert.equal(queryMs, 1_000);
    // Two pooled connections, both open and idle before the fault.
    await Promise.all([db.query('SELECT pg_sleep(0.1)'), db.query('SELECT pg_sleep(0.1)')]);
    assert.equal(db.totalCount, 2);

    await proxy.api.addToxic(PROXY, {
      name: 'held',
      type: 'timeout',
      stream: 'downstream',
      toxicity: 1,
      attributes: { timeout: 0 },
    });
    const viaPool = await failure(() => db.query('SELECT 1'));
    assert.match(viaPool.err.message, /Query read timeout/);
    assert.ok(viaPool.ms >= queryMs, `failed after ${viaPool.ms} ms, before the timeout`);
    assert.ok(viaPool.ms < queryMs + CLIENT_GRACE_MS + SLACK_MS, `took ${viaPool.ms} ms`);

    // A transaction fails after one timeout, not two: no ROLLBACK is queued behind the lost answer.
    const viaTx = await failure(() => withTransaction(db, (tx) => tx.query('SELECT 1')));
    assert.match(viaTx.err.message, /Query read timeout/);
    assert.ok(viaTx.ms < queryMs + CLIENT_GRACE_MS + SLACK_MS, `the transaction took ${viaTx.ms} ms to fail`);

    // Both connections were discarded; a new one gets no answer to its start-up either.
    assert.equal(db.idleCount, 0, 'a connection that timed out went back to the pool');
    const fresh = createDb(proxiedUrl, {
      max: 1,
      applicationName: 'pg-timeouts-test',
      timeouts: config.database.timeouts,
    });
    try {
      const connect = await failure(() => fresh.query('SELECT 1'));
      assert.match(connect.err.message, /timeout|terminated/i);
      assert.ok(connect.ms < config.database.timeouts.connectMs + SLACK_MS, `connecting took ${connect.ms} ms to fail`);
    } finally {
      await fresh.end();
    }

    await proxy.api.removeToxic(PROXY, 'held');
    const { rows } = await db.query<{ ok: number }>('SELECT 1 AS ok');
    assert.deepEqual(rows, [{ ok: 1 }]);
    await withTransaction(db, (tx) => tx.query('SELECT 1'));
  });
});
