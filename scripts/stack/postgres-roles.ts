import { advisoryLockSql } from '../../access/postgres-grants';
import { principalRolesSql } from '../../access/postgres-roles';
import type { StackContext } from './context';
import { sqlLiteral, type Cluster } from './postgres-cluster';
import type { PgBinaries } from './postgres-tools';
import { runAsOwnerChecked } from './postgres-tools';
import type { DbTarget } from './postgres-url';

/**
 * What only a superuser can do for least privilege, run over the cluster's Unix socket on every
 * `stack:up`: one LOGIN role per principal (password from `<STACK_DIR>/secrets/`, never on a
 * command line), and the advisory-lock functions taken from PUBLIC in template1 and in every
 * database DATABASE_URL's role owns (the app's, `<db>_test`, test databases made earlier). The
 * tables' grants follow the migrations, as the owner (access/postgres-grants.ts).
 */
export async function ensurePrincipalRoles(
  ctx: StackContext,
  cluster: Cluster,
  bins: PgBinaries,
  target: DbTarget,
  port: number,
): Promise<void> {
  const psql = (database: string, sql: string, what: string) =>
    runAsOwnerChecked(
      what,
      bins.psql,
      ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-h', cluster.home, '-p', String(port), '-d', database],
      { input: sql, fix: `read ${cluster.logFile}` },
    );
  // Keep the statements (with their passwords) out of the server log even if one fails.
  await psql(
    'postgres',
    ["SET log_min_error_statement = 'panic';", ...principalRolesSql(ctx.layout.dir), ''].join('\n'),
    'creating the principals’ roles',
  );
  const owned = await psql(
    'postgres',
    `SELECT datname FROM pg_database WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = ${sqlLiteral(target.user)});\n`,
    'listing the databases of DATABASE_URL’s role',
  );
  const databases = [
    'template1',
    ...owned.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0),
  ];
  for (const database of databases)
    await psql(database, [...advisoryLockSql(target.user), ''].join('\n'), `advisory-lock grants in ${database}`);
}
