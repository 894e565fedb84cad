import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The passwords of one principal (or team): its NATS user's and its PostgreSQL role's. */
export interface PrincipalSecret {
  nats: string;
  postgres: string;
}

/** `<stackDir>/secrets`: lib/config.ts's dev fallback reads `admin.json` there too. */
export function secretsDir(stackDir: string): string {
  return join(stackDir, 'secrets');
}

function isSecret(value: unknown): value is PrincipalSecret {
  const v = value as Partial<PrincipalSecret> | null;
  return typeof v?.nats === 'string' && typeof v.postgres === 'string';
}

/**
 * The passwords of `name` from `<stackDir>/secrets/<name>.json` (mode 0600 in a 0700 folder),
 * generated once (144 random bits each) and kept, so a restarted stack and its processes agree.
 * A production deployment never uses these files: it gives each process NATS_USER, NATS_PASSWORD
 * and a DATABASE_URL from its own secret store.
 *
 * @example
 * const { nats } = principalSecret(config.stack.dir, 'outbox-relay');
 */
export function principalSecret(stackDir: string, name: string): PrincipalSecret {
  const dir = secretsDir(stackDir);
  const file = join(dir, `${name}.json`);
  if (existsSync(file)) {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!isSecret(parsed)) throw new Error(`${file} is not a principal's secrets file; remove it to get a new one`);
    return parsed;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const secret: PrincipalSecret = {
    nats: randomBytes(18).toString('base64url'),
    postgres: randomBytes(18).toString('base64url'),
  };
  // 'wx': two starters racing both end up reading the one file that won.
  try {
    writeFileSync(file, `${JSON.stringify(secret, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return principalSecret(stackDir, name);
  }
  return secret;
}
