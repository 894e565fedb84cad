import { PRINCIPALS } from './principals';
import { principalSecret } from './secrets';

const literal = (value: string): string => `'${value.replace(/'/g, "''")}'`;
const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * The statements a superuser (or a role with CREATEROLE) runs once per cluster: one LOGIN role
 * per principal, nothing more (no CREATEDB, no CREATEROLE, no inheritance of another role), with
 * its password from `<stackDir>/secrets/`. Plain SQL, so psql and a pg client both run it; run it
 * with `log_min_error_statement` raised, so a failing statement's password stays out of the log.
 */
export function principalRolesSql(stackDir: string): string[] {
  return PRINCIPALS.flatMap((p) => {
    if (!p.pgRole) return [];
    const role = ident(p.pgRole);
    return [
      `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${literal(p.pgRole)}) THEN CREATE ROLE ${role}; END IF; END $$;`,
      `ALTER ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOINHERIT PASSWORD ${literal(principalSecret(stackDir, p.name).postgres)};`,
    ];
  });
}
