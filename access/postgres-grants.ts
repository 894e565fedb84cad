import type { Db } from '../events/consumer/transaction';
import { SUBSCRIBERS, type SubscriberName } from '../subscribers/index';
import { PRINCIPALS, type PrincipalName } from './principals';
import { secureConsumerRows } from './postgres-rows';
import type { TableGrants } from './types';

/**
 * The consumer kit's own tables (events/consumer): every subscriber marks and parks through them,
 * each only in its own consumers' rows (row-level security, access/postgres-rows.ts).
 */
const CONSUMER_KIT: TableGrants = {
  // UPDATE: the mark sweeper picks old marks with SELECT … FOR UPDATE SKIP LOCKED (events/consumer/mark-retention.ts).
  processed_events: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  parked_events: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
};

/** A subscriber's tables: its own (its definition's `tables`) and the kit's. */
const subscriberTables = (): Partial<Record<SubscriberName, TableGrants>> =>
  Object.fromEntries(SUBSCRIBERS.map((s) => [s.name, { ...s.tables, ...CONSUMER_KIT }]));

/**
 * What each process's role may do, found by reading each process's SQL (grep the table names);
 * a subscriber's come from its definition (subscribers/). Tables a role is not listed on are out
 * of its reach; sequences of the tables it inserts into are granted with them.
 */
export const TABLE_GRANTS: Readonly<Partial<Record<PrincipalName, TableGrants>>> = {
  api: {
    orders: ['SELECT', 'INSERT', 'UPDATE'],
    products: ['SELECT', 'INSERT', 'UPDATE'],
    idempotency_keys: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
    read_orders: ['SELECT'],
    // UPDATE: a cancel before the saga starts locks its queued start (SELECT … FOR UPDATE).
    saga_starts: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
    // SELECT: that cancel checks that no unrecorded saga has reserved already.
    stock_reservations: ['SELECT'],
    outbox: ['INSERT'],
    provider_events: ['SELECT', 'INSERT', 'UPDATE'],
    api_rate_limits: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  },
  'saga-worker': {
    orders: ['SELECT', 'UPDATE'],
    products: ['SELECT', 'UPDATE'],
    stock_reservations: ['SELECT', 'INSERT', 'UPDATE'],
    payments: ['SELECT', 'INSERT', 'UPDATE'],
    shipments: ['SELECT', 'INSERT', 'UPDATE'],
    sim_provider_charges: ['SELECT', 'INSERT', 'UPDATE'],
    sim_carrier_shipments: ['SELECT', 'INSERT', 'UPDATE'],
    outbox: ['INSERT'],
  },
  'saga-starter': { saga_starts: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], orders: ['SELECT'] },
  'outbox-relay': { outbox: ['SELECT', 'UPDATE', 'DELETE'] },
  ...subscriberTables(),
};

/** Every advisory-lock function of PostgreSQL, by signature: EXECUTE is revoked from PUBLIC on all. */
export const ADVISORY_LOCK_FUNCTIONS: readonly string[] = [
  'pg_advisory_lock',
  'pg_advisory_lock_shared',
  'pg_advisory_unlock',
  'pg_advisory_unlock_shared',
  'pg_advisory_xact_lock',
  'pg_advisory_xact_lock_shared',
  'pg_try_advisory_lock',
  'pg_try_advisory_lock_shared',
  'pg_try_advisory_xact_lock',
  'pg_try_advisory_xact_lock_shared',
].flatMap((f) => [`${f}(bigint)`, `${f}(integer, integer)`]);

/**
 * The advisory locks each role takes. Two key spaces: `(integer, integer)` keys are the relay's
 * alone (its partition locks, RELAY_LOCKS in outbox/relay/partitions.ts: session locks held for
 * as long as it owns a partition); `bigint` keys are transaction locks of the API (idempotency
 * keys) and the consumer kit (per consumer and order), which end with their transaction.
 */
export const LOCK_GRANTS: Readonly<Partial<Record<PrincipalName, readonly string[]>>> = {
  api: ['pg_advisory_xact_lock(bigint)'],
  'outbox-relay': [
    'pg_advisory_lock_shared(integer, integer)',
    'pg_try_advisory_lock(integer, integer)',
    'pg_advisory_unlock(integer, integer)',
    'pg_advisory_unlock_shared(integer, integer)',
  ],
  // Every subscriber: the kit's per-order lock (events/consumer/inbox.ts).
  ...Object.fromEntries(SUBSCRIBERS.map((s) => [s.name, ['pg_advisory_xact_lock(bigint)']])),
};

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * The statements a superuser runs in each database (and template1, so databases created later,
 * such as `<db>_test`, start the same): the advisory-lock functions callable only by the owner
 * and the roles that take those locks, as LOCK_GRANTS says now (what a role was granted before
 * is revoked first). Only a superuser may change them: they belong to pg_catalog.
 */
export function advisoryLockSql(owner: string): string[] {
  const roles = PRINCIPALS.flatMap((p) => (p.pgRole ? [{ name: p.name, role: p.pgRole }] : []));
  const all = ADVISORY_LOCK_FUNCTIONS.map((f) => `pg_catalog.${f}`).join(', ');
  return [
    ...ADVISORY_LOCK_FUNCTIONS.map((f) => `REVOKE EXECUTE ON FUNCTION pg_catalog.${f} FROM PUBLIC;`),
    ...roles.map(({ role }) => `REVOKE EXECUTE ON FUNCTION ${all} FROM ${ident(role)};`),
    ...ADVISORY_LOCK_FUNCTIONS.map((f) => `GRANT EXECUTE ON FUNCTION pg_catalog.${f} TO ${ident(owner)};`),
    ...roles.flatMap(({ name, role }) =>
      (LOCK_GRANTS[name] ?? []).map((f) => `GRANT EXECUTE ON FUNCTION pg_catalog.${f} TO ${ident(role)};`),
    ),
  ];
}

/** Brings one existing role's table and sequence privileges to TABLE_GRANTS (see {@link grantPrincipals}). */
async function grantTables(db: Db, name: PrincipalName, pgRole: string): Promise<void> {
  const role = ident(pgRole);
  await db.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${role}`);
  await db.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${role}`);
  const tables = Object.entries(TABLE_GRANTS[name] ?? {});
  for (const [table, privileges] of tables)
    await db.query(`GRANT ${privileges.join(', ')} ON TABLE ${ident(table)} TO ${role}`);
  const inserting = tables.filter(([, privileges]) => privileges.includes('INSERT')).map(([table]) => table);
  const { rows } = await db.query<{ seq: string }>(
    `SELECT s.relname AS seq FROM pg_class s
       JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
       JOIN pg_class t ON t.oid = d.refobjid
      WHERE s.relkind = 'S' AND t.relname = ANY($1::text[])`,
    [inserting],
  );
  for (const { seq } of rows) await db.query(`GRANT USAGE ON SEQUENCE ${ident(seq)} TO ${role}`);
}

/**
 * Takes TEMPORARY on the database from PUBLIC (every role has it by default): no process creates
 * temporary tables, and one could otherwise fill the disk with them. Only the database's owner (or
 * a superuser) may; under another role this is left to a DBA (docs/access.md).
 */
async function revokeTemporary(db: Db): Promise<void> {
  const { rows } = await db.query<{ db: string; owner: boolean }>(
    `SELECT current_database() AS db, pg_has_role(datdba, 'USAGE') AS owner
       FROM pg_database WHERE datname = current_database()`,
  );
  const here = rows[0];
  if (here?.owner) await db.query(`REVOKE TEMPORARY ON DATABASE ${ident(here.db)} FROM PUBLIC`);
}

/**
 * Brings every principal's table privileges in the connected database to TABLE_GRANTS, as the
 * tables' owner after the migrations: what was granted before is revoked first, so a privilege
 * removed from the table above is removed from the database too; then the kit tables' row-level
 * security (access/postgres-rows.ts). Only the owner may create objects in the schema, and nobody
 * but the database's owner creates temporary tables. Roles that do not exist yet are skipped and
 * returned: a superuser (the local stack's `stack:up`, a DBA in production) creates them.
 *
 * @example
 * await migrate(db);
 * const missing = await grantPrincipals(db);
 */
export async function grantPrincipals(db: Db): Promise<string[]> {
  const missing: string[] = [];
  const present = new Set<string>();
  await db.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
  await revokeTemporary(db);
  for (const p of PRINCIPALS) {
    if (!p.pgRole) continue;
    const { rowCount } = await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [p.pgRole]);
    if (rowCount === 0) {
      missing.push(p.pgRole);
      continue;
    }
    present.add(p.pgRole);
    await grantTables(db, p.name, p.pgRole);
  }
  await secureConsumerRows(db, present);
  return missing;
}
