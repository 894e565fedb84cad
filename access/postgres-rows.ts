import { withTransaction, type Db } from '../events/consumer/transaction';
import { PRINCIPALS, type Principal } from './principals';

/**
 * The consumer kit's tables (events/consumer/migrate.ts): every consumer's rows in one table, told
 * apart by the `consumer` column. Every subscriber's role holds the same privileges on them
 * (TABLE_GRANTS); row-level security narrows each role to the rows of its own consumers, so one
 * subscriber cannot mark an event processed for another (which would make it skip the event),
 * read its parked events or delete its marks.
 */
export const CONSUMER_KIT_TABLES = ['processed_events', 'parked_events'] as const;

/** A subscriber role and the consumer names whose rows it may read and write. */
export interface ConsumerRows {
  role: string;
  consumers: readonly string[];
}

/**
 * One entry per subscriber role: its durables' names, the same names its NATS user may create
 * consumers under (access/nats-permissions.ts), so a consumer run under another name (a test's
 * placement) fails on NATS first and here second, never half-works.
 */
export function consumerRows(principals: readonly Principal[] = PRINCIPALS): ConsumerRows[] {
  return principals.flatMap((p) =>
    p.pgRole && p.durables && p.durables.length > 0
      ? [{ role: p.pgRole, consumers: [...new Set(p.durables.map((d) => d.name))].sort() }]
      : [],
  );
}

const literal = (value: string): string => `'${value.replace(/'/g, "''")}'`;
const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Name of `role`'s policy on each kit table. */
export const consumerPolicyName = (role: string): string => `${role}_own_consumers`;

/**
 * The policy's condition, spelled as PostgreSQL prints it back in `pg_policies.qual`, so an
 * unchanged policy is recognised and left alone. If a server prints it otherwise, the policy is
 * only recreated on every run: correct, with a moment's table lock.
 */
function ownRows(consumers: readonly string[]): string {
  return `(consumer = ANY (ARRAY[${consumers.map((c) => `${literal(c)}::text`).join(', ')}]))`;
}

interface PolicyRow {
  policyname: string;
  roles: string[];
  cmd: string;
  permissive: string;
  qual: string | null;
  with_check: string | null;
}

/** The statements that bring one kit table's row security to `wanted`; none when it is there already. */
async function tableStatements(db: Db, table: string, wanted: readonly ConsumerRows[]): Promise<string[]> {
  const { rows } = await db.query<{ rls: boolean | null }>(
    'SELECT (SELECT relrowsecurity FROM pg_class WHERE oid = to_regclass($1)) AS rls',
    [table],
  );
  const rls = rows[0]?.rls;
  if (rls === null || rls === undefined) return []; // not migrated yet: the next run after the migrations does it
  const { rows: existing } = await db.query<PolicyRow>(
    `SELECT policyname, roles::text[] AS roles, cmd, permissive, qual, with_check
       FROM pg_policies WHERE schemaname = current_schema() AND tablename = $1`,
    [table],
  );
  const target = ident(table);
  const statements = rls ? [] : [`ALTER TABLE ${target} ENABLE ROW LEVEL SECURITY`];
  const names = new Set(wanted.map((w) => consumerPolicyName(w.role)));
  // A policy not declared here is dropped: policies are permissive, so a stray one would widen a role's rows.
  for (const p of existing)
    if (!names.has(p.policyname)) statements.push(`DROP POLICY IF EXISTS ${ident(p.policyname)} ON ${target}`);
  for (const w of wanted) {
    const name = consumerPolicyName(w.role);
    const condition = ownRows(w.consumers);
    const current = existing.find((p) => p.policyname === name);
    const same =
      current?.cmd === 'ALL' &&
      current.permissive === 'PERMISSIVE' &&
      current.roles.length === 1 &&
      current.roles[0] === w.role &&
      current.qual === condition &&
      current.with_check === condition;
    if (same) continue;
    statements.push(
      `DROP POLICY IF EXISTS ${ident(name)} ON ${target}`,
      `CREATE POLICY ${ident(name)} ON ${target} AS PERMISSIVE FOR ALL TO ${ident(w.role)} USING ${condition} WITH CHECK ${condition}`,
    );
  }
  return statements;
}

/**
 * Brings the kit tables' row-level security to {@link consumerRows}, as their owner: enabled but
 * not forced (the owner, which runs the migrations and the operator's tools, still sees every
 * row), one policy per subscriber role in `roles` (those that exist), USING and WITH CHECK on the
 * `consumer` column, and no other policy. Each table changes in one transaction, so a running
 * subscriber never sees its policy missing, and only when something differs: ALTER TABLE and
 * CREATE/DROP POLICY lock the table exclusively, and this runs at every `db:setup` and test start.
 * Concurrent runs are safe (every CREATE follows a DROP IF EXISTS under that lock).
 *
 * @example
 * await secureConsumerRows(db, new Set(['checkout_audit', 'checkout_read_model']));
 */
export async function secureConsumerRows(db: Db, roles: ReadonlySet<string>): Promise<void> {
  const wanted = consumerRows().filter((w) => roles.has(w.role));
  for (const table of CONSUMER_KIT_TABLES) {
    const statements = await tableStatements(db, table, wanted);
    if (statements.length === 0) continue;
    await withTransaction(db, async (tx) => {
      for (const sql of statements) await tx.query(sql);
    });
  }
}
