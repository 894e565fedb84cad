import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StackError } from '../errors';
import type { HaContext } from './context';

/** Passwords of the HA stack's infrastructure roles, generated once per stack and kept in it. */
export interface HaSecrets {
  /** PostgreSQL role the standby streams WAL with. */
  replicator: string;
  /** PostgreSQL role owning Temporal's two databases. */
  temporal: string;
}

/**
 * The stack's secrets from `<STACK_DIR>/secrets.json` (mode 0600), generated on first use. The
 * application's own role keeps the credentials of DATABASE_URL; these roles serve only the stack.
 */
export function haSecrets(ctx: HaContext): HaSecrets {
  const file = join(ctx.layout.dir, 'secrets.json');
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<HaSecrets>;
    if (typeof parsed.replicator !== 'string' || typeof parsed.temporal !== 'string')
      throw new StackError(
        `${file} is not the HA stack's secrets file`,
        `remove it with the rest of ${ctx.layout.dir}`,
      );
    return { replicator: parsed.replicator, temporal: parsed.temporal };
  }
  const secret = (): string => randomBytes(18).toString('base64url');
  const secrets: HaSecrets = { replicator: secret(), temporal: secret() };
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}
