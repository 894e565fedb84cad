import type { Db } from '../events/consumer/transaction';
import { PRINCIPALS, type PrincipalName } from './principals';

type Privilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';
/** Table -> privileges. UPDATE also covers `SELECT … FOR UPDATE` and `INSERT … ON CONFLICT DO UPDATE`. */
type TableGrants = Readonly<Record<string, readonly Privilege[]>>;

/** The consumer kit's own tables (events/consumer): every subscriber marks and parks through them. */
const CONSUMER_KIT: TableGrants = {
  processed_events: ['SELECT', 'INSERT', 'DELETE'],
  parked_events: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
};

/**
 * What each process's role may do, found by reading each process's SQL (grep the table names).
 * Tables a role is not listed on are out of its reach; sequences of the tables it inserts into
 * are granted with them.
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
  'audit-subscriber': { seen_events: ['SELECT', 'INSERT'], ...CONSUMER_KIT },
  'read-model': { read_orders: ['SELECT', 'INSERT', 'UPDATE'], ...CONSUMER_KIT },
  notifications: { notifications: ['SELECT', 'INSERT'], ...CONSUMER_KIT },
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

/** The advisory locks each role takes: the relay's partition locks, the API's idempotency lock, the kit's per-order lock. */
export const LOCK_GRANTS: Readonly<Partial<Record<PrincipalName, readonly string[]>>> = {
  api: ['pg_advisory_xact_lock(bigint)'],
  'outbox-relay': [
    'pg_advisory_lock_shared(integer, integer)',
    'pg_try_advisory_lock(integer, integer)',
    'pg_advisory_unlock(integer, integer)',
    'pg_advisory_unlock_shared(integer, integer)',
  ],
  'audit-subscriber': ['pg_advisory_xact_lock(integer, integer)'],
  'read-model': ['pg_advisory_xact_lock(integer, integer)'],
  notifications: ['pg_advisory_xact_lock(integer, integer)'],
};

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * The statements a superuser runs in each database (and template1, so databases created later,
 * such as `<db>_test`, start the same): the advisory-lock functions callable only by the owner
 * and the roles that take those locks. Only a superuser may change them: they belong to pg_catalog.
 */
export function advisoryLockSql(owner: string): string[] {
  const roles = PRINCIPALS.flatMap((p) => ('pgRole' in p ? [{ name: p.name, role: p.pgRole }] : []));
  return [
    ...ADVISORY_LOCK_FUNCTIONS.map((f) => `REVOKE EXECUTE ON FUNCTION pg_catalog.${f} FROM PUBLIC;`),
    ...ADVISORY_LOCK_FUNCTIONS.map((f) => `GRANT EXECUTE ON FUNCTION pg_catalog.${f} TO ${ident(owner)};`),
    ...roles.flatMap(({ name, role }) =>
      (LOCK_GRANTS[name] ?? []).map((f) => `GRANT EXECUTE ON FUNCTION pg_catalog.${f} TO ${ident(role)};`),
    ),
  ];
}

/**
 * Brings every principal's table privileges in the connected database to TABLE_GRANTS, as the
 * tables' owner after the migrations: what was granted before is revoked first, so a privilege
 * removed from the table above is removed from the database too. Only the owner may create
 * objects in the schema. Roles that do not exist yet are skipped and returned: a superuser (the
 * local stack's `stack:up`, a DBA in production) creates them.
 *
 * @example
 * await migrate(db);
 * const missing = await grantPrincipals(db);
 */
export async function grantPrincipals(db: Db): Promise<string[]> {
  const missing: string[] = [];
  await db.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
  for (const p of PRINCIPALS) {
    if (!('pgRole' in p)) continue;
    const { rowCount } = await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [p.pgRole]);
    if (rowCount === 0) {
      missing.push(p.pgRole);
      continue;
    }
    const role = ident(p.pgRole);
    await db.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${role}`);
    await db.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${role}`);
    const tables = Object.entries(TABLE_GRANTS[p.name] ?? {});
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
  return missing;
}
