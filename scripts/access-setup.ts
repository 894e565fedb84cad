import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { advisoryLockSql } from '../access/postgres-grants';
import { principalRolesSql } from '../access/postgres-roles';
import { loadConfigOrExit } from '../lib/main';
import { natsAuthorizationBlock, writeTeamSettings } from './stack/nats-authorization';
import { ensureBaseDirs, stackLayout } from './stack/layout';

/**
 * `node --import tsx scripts/access-setup.ts`: provisions the principals where `stack:up` does not
 * run the servers (docker compose): every principal's and team's password under STACK_DIR (kept
 * if already there), `<STACK_DIR>/nats/authorization.conf` for nats-server to include, and, as
 * DATABASE_URL's role (a superuser there), the principals' PostgreSQL roles and the advisory-lock
 * grants. Idempotent. The table grants follow the migrations (`db:setup`).
 */
const config = loadConfigOrExit();
const layout = stackLayout(config);
ensureBaseDirs(layout);
const block = natsAuthorizationBlock({ config, layout, say: (line) => console.log(line) });
const include = join(layout.natsDir, 'authorization.conf');
// nats-server reads it as root in its container; nobody else needs it.
writeFileSync(include, `${block}\n`, { mode: 0o600 });
writeTeamSettings({ config, layout, say: (line) => console.log(line) });
const client = new pg.Client({ connectionString: config.database.url });
await client.connect();
try {
  // Keep the statements (with their passwords) out of the server log even if one fails.
  await client.query("SET log_min_error_statement = 'panic'");
  for (const sql of principalRolesSql(layout.dir)) await client.query(sql);
  const { rows } = await client.query<{ owner: string }>('SELECT current_user AS owner');
  for (const sql of advisoryLockSql(rows[0]?.owner ?? '')) await client.query(sql);
} finally {
  await client.end();
}
console.log(`access    NATS users in ${include}, PostgreSQL roles and lock grants in place`);
