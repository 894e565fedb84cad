import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import pg from 'pg';
import { principalEnv } from '../../access/env';
import { TABLE_GRANTS } from '../../access/postgres-grants';
import { PRINCIPALS, type PrincipalName } from '../../access/principals';
import type { Config } from '../../lib/config';
import { RELAY_LOCKS } from '../../outbox/relay/partitions';
import { testConfig, testDb } from '../support/services';

/** Every table of the application: those granted to some role, and the migrations' own. */
const ALL_TABLES = [
  ...new Set(Object.values(TABLE_GRANTS).flatMap((grants) => Object.keys(grants ?? {}))),
  'schema_migrations',
];
const ROLES = PRINCIPALS.flatMap((p) => ('pgRole' in p ? [p.name] : []));

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
});
