/**
 * PostgreSQL failover on the HA stack (`npm run test:ha` brings it up): writers commit through the
 * stable address while `failover` fences the primary, promotes the synchronous standby, repoints
 * the address and rebuilds a standby. Every commit that was acknowledged must be on the new
 * primary, the old one must be fenced, and a session advisory lock (the relay's kind) must be gone.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { loadConfig, type Config } from '../../lib/config';
import { createDb, type Db } from '../../lib/db';
import { sleep } from '../../lib/wait';
import { haContext, haFailover, HA_PORTS, type FailoverResult } from '../../scripts/stack/ha/index';
import { readTopology } from '../../scripts/stack/ha/postgres-nodes';
import { testConfig, testDb } from '../support/services';

const WRITERS = 8;
/** Writes before the failover starts and after it ends, so both sides of it are exercised. */
const LEAD_IN_MS = 1_500;
const TAIL_MS = 2_000;
const LOCK_KEY = 0x6861_7465; // an advisory lock key of this test only

interface WriteLog {
  acked: number[];
  failed: number;
  /** Acknowledged writes that started after the failover returned. */
  ackedAfter: number;
}

/** Inserts ids through the stable address until `stop`, each in its own (autocommit) transaction. */
async function write(
  db: Db,
  table: string,
  ids: { next: number },
  stop: () => boolean,
  done: () => boolean,
  log: WriteLog,
) {
  while (!stop()) {
    const id = ids.next++;
    const afterFailover = done();
    try {
      await db.query(`INSERT INTO ${table} (id) VALUES ($1)`, [id]);
      log.acked.push(id);
      if (afterFailover) log.ackedAfter += 1;
    } catch {
      // Not acknowledged: the failover may or may not have kept it. Only acked ids are checked.
      log.failed += 1;
      await sleep(50);
    }
  }
}

describe('PostgreSQL failover on the HA stack, under writes through the stable address', () => {
  let stackConfig: Config;
  let db: Db;
  let initial: ReturnType<typeof readTopology>;
  let result: FailoverResult;
  const table = `failover_probe_${Date.now()}`;
  const log: WriteLog = { acked: [], failed: 0, ackedAfter: 0 };
  let lockSessionError: unknown;
  let lockFreeAfter = false;

  before(async () => {
    stackConfig = loadConfig();
    const ctx = haContext(stackConfig, () => undefined);
    initial = readTopology(ctx);
    assert.ok(initial?.synchronous, 'the HA stack is up with a synchronous standby: run `npm run stack:up -- --ha`');
    const config = testConfig();
    await (await testDb(config)).end();
    db = createDb(config.database.url, {
      max: WRITERS + 2,
      applicationName: 'ha-failover-test',
      timeouts: config.database.timeouts,
    });
    await db.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`);

    // A session advisory lock held across the failover, as a relay holds its partitions.
    const holder = new pg.Client({ connectionString: config.database.url });
    holder.on('error', () => undefined);
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);

    let stopping = false;
    let failedOver = false;
    const ids = { next: 1 };
    const writers = Array.from({ length: WRITERS }, () =>
      write(
        db,
        table,
        ids,
        () => stopping,
        () => failedOver,
        log,
      ),
    );
    await sleep(LEAD_IN_MS);
    result = await haFailover(stackConfig, { say: (line) => console.log(line) });
    failedOver = true;
    await sleep(TAIL_MS);
    stopping = true;
    await Promise.all(writers);

    lockSessionError = await holder.query('SELECT 1').then(
      () => undefined,
      (err: unknown) => err,
    );
    await holder.end().catch(() => undefined);
    const other = await db.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [LOCK_KEY]);
    lockFreeAfter = other.rows[0]?.locked === true;
    await db.query('SELECT pg_advisory_unlock_all()');
  });

  after(async () => {
    await db?.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await db?.end();
  });

  it('keeps every acknowledged commit on the new primary', async () => {
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM ${table}`);
    const stored = new Set(rows.map((r) => Number(r.id)));
    const lost = log.acked.filter((id) => !stored.has(id));
    console.log(`${log.acked.length} acknowledged, ${log.failed} failed during the switch, ${lost.length} lost`);
    assert.ok(log.acked.length > 0);
    assert.deepEqual(lost, []);
  });

  it('takes writes through the stable address again once the failover returns', () => {
    assert.ok(log.ackedAfter > 0, `writes acknowledged after the failover: ${log.ackedAfter}`);
  });

  it('promotes the standby and points the stable address at it', async () => {
    assert.equal(result.from, initial?.primary);
    assert.equal(result.to, initial?.standby);
    const { rows } = await db.query<{ recovery: boolean; port: number }>(
      'SELECT pg_is_in_recovery() AS recovery, inet_server_port() AS port',
    );
    const index = result.to === 'pg-1' ? 0 : 1;
    assert.deepEqual(rows[0], { recovery: false, port: HA_PORTS.postgresNodes[index] });
  });

  it('fences the old primary: data moved aside with a FENCED marker and a standby.signal', () => {
    assert.ok(result.fencedDir);
    assert.match(readFileSync(join(result.fencedDir, 'FENCED'), 'utf8'), /Never start this directory as a primary/);
    assert.ok(existsSync(join(result.fencedDir, 'standby.signal')));
  });

  it('rebuilds the old node as the new synchronous standby, so a second failover is possible', () => {
    const topology = readTopology(haContext(stackConfig, () => undefined));
    assert.deepEqual(
      {
        primary: topology?.primary,
        standby: topology?.standby,
        synchronous: topology?.synchronous,
        failover: topology?.failover,
      },
      { primary: result.to, standby: result.from, synchronous: true, failover: null },
    );
  });

  it('ends every session of the old primary and frees its advisory locks', () => {
    assert.ok(lockSessionError instanceof Error, 'the lock-holding session is gone');
    assert.equal(lockFreeAfter, true, 'another session takes the lock on the new primary');
  });
});
