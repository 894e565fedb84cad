import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { migrateConsumerKit } from '../events/consumer/migrate';
import type { Db } from './db';
import { withTransaction } from './db';
import { repoRoot } from './config';

export const MIGRATIONS_DIR = join(repoRoot, 'db', 'migrations');

/** Arbitrary constant key: concurrent migrators (several processes starting) take turns. */
const MIGRATION_LOCK_KEY = 0x636b_6d67;

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

/**
 * Applies every `db/migrations/NNNN_name.sql` not yet applied, in order, each in its own
 * transaction, recording name and checksum. A changed, already-applied file is an error. Then
 * creates the consumer kit's tables where missing (`migrateConsumerKit`, which ships with the
 * kit): here 0001 and 0003 already made them, and they stay as they are because an applied
 * migration's checksum must not change, so the kit's step is a no-op on this app's databases.
 *
 * @example
 * const { applied } = await migrate(db);
 */
export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
  const lock = await db.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await lock.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await lock.query<{ version: string; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations',
    );
    const done = new Map(rows.map((r) => [r.version, r.checksum]));
    const applied: string[] = [];
    for (const file of files) {
      const sql = await readFile(join(dir, file), 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      const previous = done.get(file);
      if (previous !== undefined) {
        if (previous !== checksum) {
          throw new Error(`migration ${file} was changed after it was applied; add a new migration instead`);
        }
        continue;
      }
      await withTransaction(db, async (tx) => {
        await tx.query(sql);
        await tx.query('INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)', [file, checksum]);
      });
      applied.push(file);
    }
    await migrateConsumerKit(db);
    return { applied, alreadyApplied: done.size };
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    lock.release();
  }
}
