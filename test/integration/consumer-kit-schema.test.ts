import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { migrateConsumerKit } from 'checkout-saga/events';
import { createDb, type Db } from '../../lib/db';
import { ensureDatabase, testConfig, testDb } from '../support/services';

/** Columns and indexes of the kit's tables, to compare two databases' schemas. */
async function kitSchema(db: Db): Promise<{ columns: string[]; indexes: string[] }> {
  const columns = await db.query<{ c: string }>(
    `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '-') AS c
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name IN ('processed_events', 'parked_events')
      ORDER BY table_name, ordinal_position`,
  );
  const indexes = await db.query<{ i: string }>(
    `SELECT indexdef AS i FROM pg_indexes
      WHERE schemaname = current_schema() AND tablename IN ('processed_events', 'parked_events') ORDER BY indexname`,
  );
  return { columns: columns.rows.map((r) => r.c), indexes: indexes.rows.map((r) => r.i) };
}

describe('the consumer kit creates its own tables (real Postgres)', () => {
  const config = testConfig();
  const scratch: string[] = [];
  let appDb: Db;

  /** A pool on a new, empty database that is dropped after the suite. */
  async function emptyDatabase(): Promise<Db> {
    const url = new URL(config.database.url);
    const name = `${url.pathname.slice(1)}_kit_${randomBytes(4).toString('hex')}`;
    url.pathname = `/${name}`;
    await ensureDatabase(url.toString(), config.database.url);
    scratch.push(name);
    return createDb(url.toString(), { max: 4, applicationName: 'kit-schema-test', timeouts: config.database.timeouts });
  }

  before(async () => {
    appDb = await testDb(config);
  });

  after(async () => {
    await appDb.end();
    const admin = new pg.Client({ connectionString: config.database.url });
    await admin.connect();
    try {
      for (const name of scratch) await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
    } finally {
      await admin.end();
    }
  });

  it('creates on an empty database the same tables the app migrations made, and repeating it changes nothing', async () => {
    const db = await emptyDatabase();
    try {
      await Promise.all([migrateConsumerKit(db), migrateConsumerKit(db)]);
      const created = await kitSchema(db);
      // Two primary keys and four indexes (the fourth, BRIN on processed_at, for the mark retention
      // sweep of issue 15); processed marks record the order and type.
      assert.equal(created.indexes.length, 6);
      assert.ok(created.columns.includes('processed_events.order_id text YES -'), created.columns.join('\n'));
      assert.deepEqual(created, await kitSchema(appDb));
      await migrateConsumerKit(db);
      assert.deepEqual(await kitSchema(db), created);
    } finally {
      await db.end();
    }
  });

  it('adds the order columns to a processed_events table from before the kit tracked orders, keeping its marks', async () => {
    const db = await emptyDatabase();
    try {
      await db.query(`CREATE TABLE processed_events (
        consumer text NOT NULL, event_id uuid NOT NULL, processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, event_id))`);
      await db.query(`INSERT INTO processed_events (consumer, event_id) VALUES ('old', gen_random_uuid())`);
      await migrateConsumerKit(db);
      assert.deepEqual(await kitSchema(db), await kitSchema(appDb));
      const { rows } = await db.query('SELECT consumer, order_id, event_type FROM processed_events');
      assert.deepEqual(rows, [{ consumer: 'old', order_id: null, event_type: null }]);
    } finally {
      await db.end();
    }
  });
});
