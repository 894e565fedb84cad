import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { principalEnv } from '../../access/env';
import { grantPrincipals, LOCK_GRANTS, TABLE_GRANTS } from '../../access/postgres-grants';
import { CONSUMER_KIT_TABLES } from '../../access/postgres-rows';
import { PRINCIPALS, principal, type PrincipalName } from '../../access/principals';
import { sweepProcessedMarks } from '../../events/consumer/mark-retention';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { RELAY_LOCKS } from '../../outbox/relay/partitions';
import { testConfig, testDb } from '../support/services';

/** Every table of the application: those granted to some role, and the migrations' own. */
const ALL_TABLES = [
  ...new Set(Object.values(TABLE_GRANTS).flatMap((grants) => Object.keys(grants ?? {}))),
  'schema_migrations',
];
const ROLES = PRINCIPALS.flatMap((p) => (p.pgRole ? [p.name] : []));

async function asRole<T>(config: Config, name: PrincipalName, body: (c: pg.Client) => Promise<T>): Promise<T> {
  const url = principalEnv(name, config.stack.dir, config.database.url).DATABASE_URL;
  assert.ok(url, `${name} has a role`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

async function assertDenied(attempt: Promise<unknown>, what: RegExp = /permission denied/): Promise<void> {
  await assert.rejects(attempt, (err: Error) => {
    assert.match(err.message, what);
    return true;
  });
}

/** The first durable's name of a subscriber principal: the consumer its kit rows are written under. */
function consumerOf(name: PrincipalName): string {
  const durable = principal(name).durables?.[0];
  assert.ok(durable, `${name} runs a durable`);
  return durable.name;
}

describe('PostgreSQL least privilege: each process role can do only its own statements', () => {
  let config: Config;

  before(async () => {
    config = testConfig();
    await (await testDb(config)).end();
  });

  for (const name of ROLES)
    it(`${name} cannot run DDL`, () =>
      asRole(config, name, async (c) => {
        await assertDenied(c.query('CREATE TABLE privilege_probe (id int)'));
        await assertDenied(c.query('ALTER TABLE outbox ADD COLUMN probe int'), /must be owner|permission denied/);
        await assertDenied(c.query('DROP TABLE orders'), /must be owner|permission denied/);
      }));

  for (const name of ROLES)
    it(`${name} reads the tables it is granted and no other`, () =>
      asRole(config, name, async (c) => {
        const own = TABLE_GRANTS[name] ?? {};
        for (const table of ALL_TABLES) {
          const read = c.query(`SELECT 1 FROM ${table} LIMIT 1`);
          if (own[table]?.includes('SELECT')) await read;
          else await assertDenied(read);
        }
        const foreign = ALL_TABLES.find((t) => !own[t]);
        assert.ok(foreign, `some table is not ${name}'s`);
        await assertDenied(c.query(`DELETE FROM ${foreign}`));
      }));

  for (const name of ROLES)
    it(`${name} cannot create temporary tables`, () =>
      asRole(config, name, (c) =>
        assertDenied(c.query('CREATE TEMP TABLE privilege_probe (id int)'), /permission denied to create temporary/),
      ));

  it('only the relay can take the relay’s partition locks', async () => {
    const [space] = RELAY_LOCKS.member;
    for (const name of ROLES.filter((n) => n !== 'outbox-relay'))
      await asRole(config, name, (c) =>
        assertDenied(c.query('SELECT pg_try_advisory_lock($1, 0)', [space]), /permission denied for function/),
      );
    await asRole(config, 'outbox-relay', async (c) => {
      const { rows } = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, 0) AS ok', [space + 1]);
      assert.equal(rows[0]?.ok, true);
      await c.query('SELECT pg_advisory_unlock($1, 0)', [space + 1]);
    });
  });

  it('the saga worker and starter take no advisory lock at all', async () => {
    for (const name of ['saga-worker', 'saga-starter'] as const)
      await asRole(config, name, async (c) => {
        await assertDenied(c.query('SELECT pg_advisory_xact_lock(1)'), /permission denied for function/);
        await assertDenied(c.query('SELECT pg_advisory_lock(1, 1)'), /permission denied for function/);
      });
  });

  it('no role but the relay takes a lock in the relay’s key space, even for a transaction', async () => {
    const [space] = RELAY_LOCKS.member;
    for (const name of ROLES.filter((n) => n !== 'outbox-relay'))
      await asRole(config, name, async (c) => {
        await c.query('BEGIN');
        await assertDenied(c.query('SELECT pg_advisory_xact_lock($1, 0)', [space]), /permission denied for function/);
        await c.query('ROLLBACK');
      });
  });

  it('the API and the subscribers take transaction locks on bigint keys, and nothing else', async () => {
    for (const name of ROLES.filter((n) => (LOCK_GRANTS[n] ?? []).includes('pg_advisory_xact_lock(bigint)')))
      await asRole(config, name, async (c) => {
        await c.query('BEGIN');
        await c.query("SELECT pg_advisory_xact_lock(hashtextextended('privilege-probe', 0))");
        await assertDenied(c.query('SELECT pg_advisory_lock(1)'), /permission denied for function/);
        await c.query('ROLLBACK');
      });
  });
});

describe('PostgreSQL row-level security: a subscriber role reaches only its own consumers’ kit rows', () => {
  let config: Config;
  let db: Db;
  const own = consumerOf('read-model');
  const other = consumerOf('audit-subscriber');
  const otherMark = randomUUID();
  const otherParked = randomUUID();

  const parkedRow = (consumer: string, eventId: string) =>
    db.query(
      `INSERT INTO parked_events (consumer, event_id, order_id, event_type, waiting_for, subject, body, stream, stream_seq)
       VALUES ($1, $2, 'rls-order', 'checkout.order.completed', '{checkout.order.placed}', 'checkout.order.completed', '{}', 'CHECKOUT', 1)`,
      [consumer, eventId],
    );

  before(async () => {
    config = testConfig();
    db = await testDb(config);
    await db.query('INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ($1, $2, $3)', [
      other,
      otherMark,
      new Date(0),
    ]);
    await parkedRow(other, otherParked);
  });

  after(async () => {
    await db.query('DELETE FROM processed_events WHERE event_id = $1', [otherMark]);
    await db.query('DELETE FROM parked_events WHERE event_id = $1', [otherParked]);
    await db.end();
  });

  it('is enabled on the kit tables and not forced, so the owner still sees every consumer’s rows', async () => {
    const { rows } = await db.query<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>(
      'SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY($1::text[])',
      [[...CONSUMER_KIT_TABLES]],
    );
    assert.equal(rows.length, CONSUMER_KIT_TABLES.length);
    for (const r of rows)
      assert.deepEqual([r.relname, r.relrowsecurity, r.relforcerowsecurity], [r.relname, true, false]);
    const mark = await db.query('SELECT 1 FROM processed_events WHERE event_id = $1', [otherMark]);
    assert.equal(mark.rowCount, 1);
  });

  it('a re-run of the grants keeps the policies as they are (no table lock at every start)', async () => {
    const policies = async () =>
      (
        await db.query<{ oid: string; polname: string }>(
          `SELECT p.oid::text AS oid, p.polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
            WHERE c.relname = ANY($1::text[]) ORDER BY 1`,
          [[...CONSUMER_KIT_TABLES]],
        )
      ).rows;
    const before = await policies();
    assert.equal(before.length, CONSUMER_KIT_TABLES.length * ROLES.filter((n) => principal(n).durables).length);
    await grantPrincipals(db);
    assert.deepEqual(await policies(), before);
  });

  it(`read-model cannot read, insert, update or delete the rows of ${other}`, () =>
    asRole(config, 'read-model', async (c) => {
      const denied = /new row violates row-level security policy/;
      const marks = await c.query('SELECT 1 FROM processed_events WHERE consumer = $1', [other]);
      assert.equal(marks.rowCount, 0);
      const parked = await c.query('SELECT 1 FROM parked_events WHERE consumer = $1', [other]);
      assert.equal(parked.rowCount, 0);
      // The attack: a processed mark for another consumer would make it skip the event.
      await assertDenied(
        c.query('INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)', [other, randomUUID()]),
        denied,
      );
      await assertDenied(
        c.query(
          `INSERT INTO parked_events (consumer, event_id, order_id, event_type, waiting_for, subject, body, stream, stream_seq)
           VALUES ($1, $2, 'o', 't', '{}', 's', '{}', 'CHECKOUT', 1)`,
          [other, randomUUID()],
        ),
        denied,
      );
      const updated = await c.query("UPDATE parked_events SET body = 'x' WHERE consumer = $1", [other]);
      assert.equal(updated.rowCount, 0);
      assert.equal((await c.query('DELETE FROM processed_events WHERE consumer = $1', [other])).rowCount, 0);
      assert.equal((await c.query('DELETE FROM parked_events WHERE consumer = $1', [other])).rowCount, 0);
      // The mark sweeper's statement, aimed at the other consumer's (expired) mark, finds nothing.
      assert.equal(await sweepProcessedMarks(c as unknown as Db, other, Date.now() - Date.UTC(1971, 0, 1)), 0);
      const left = await db.query('SELECT 1 FROM processed_events WHERE event_id = $1', [otherMark]);
      assert.equal(left.rowCount, 1, 'the other consumer’s mark is still there');
      const body = await db.query<{ body: string }>('SELECT body FROM parked_events WHERE event_id = $1', [
        otherParked,
      ]);
      assert.equal(body.rows[0]?.body, '{}', 'the other consumer’s parked event is untouched');
    }));

  it('read-model reads, writes and sweeps its own rows, and cannot hand one to another consumer', () =>
    asRole(config, 'read-model', async (c) => {
      const mark = randomUUID();
      const parked = randomUUID();
      await c.query('INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ($1, $2, $3)', [
        own,
        mark,
        new Date(0),
      ]);
      await c.query(
        `INSERT INTO parked_events (consumer, event_id, order_id, event_type, waiting_for, subject, body, stream, stream_seq)
         VALUES ($1, $2, 'o', 't', '{}', 's', '{}', 'CHECKOUT', 1)`,
        [own, parked],
      );
      assert.equal((await c.query('SELECT 1 FROM processed_events WHERE event_id = $1', [mark])).rowCount, 1);
      await assertDenied(
        c.query('UPDATE parked_events SET consumer = $1 WHERE event_id = $2', [other, parked]),
        /new row violates row-level security policy/,
      );
      assert.equal((await c.query("UPDATE parked_events SET body = 'x' WHERE event_id = $1", [parked])).rowCount, 1);
      assert.equal((await c.query('DELETE FROM parked_events WHERE event_id = $1', [parked])).rowCount, 1);
      // Marks from before 1971: this test's alone, so a concurrent test's marks are not swept.
      const before1971 = Date.now() - Date.UTC(1971, 0, 1);
      assert.ok((await sweepProcessedMarks(c as unknown as Db, own, before1971)) >= 1, 'the sweeper deleted marks');
      assert.equal((await c.query('SELECT 1 FROM processed_events WHERE event_id = $1', [mark])).rowCount, 0);
    }));
});
