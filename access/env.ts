import { loadConfig } from '../lib/config';
import { principal, principalOfProcess, type PrincipalName } from './principals';
import { principalSecret } from './secrets';

/**
 * The variables that make a child process run as `name` on the local stack: its NATS user and
 * password, and DATABASE_URL with its role and password on `databaseUrl`'s server and database
 * (the owner's URL, as the spawner has it). Every spawner (npm start, tests, bench, chaos) uses
 * this, so a process never runs with more than its principal may do.
 *
 * @example
 * spawn(node, ['workers/relay.ts'], { env: childEnv(principalEnv('outbox-relay', config.stack.dir, config.database.url)) });
 */
export function principalEnv(name: PrincipalName, stackDir: string, databaseUrl: string): Record<string, string> {
  const p = principal(name);
  const secret = principalSecret(stackDir, name);
  const env: Record<string, string> = {};
  if (p.nats) Object.assign(env, { NATS_USER: p.name, NATS_PASSWORD: secret.nats });
  if (p.pgRole) {
    const url = new URL(databaseUrl);
    url.username = p.pgRole;
    url.password = secret.postgres;
    env.DATABASE_URL = url.toString();
  }
  return env;
}

/**
 * `principalEnv` for the process `file args` would start with `env` (its STACK_DIR and owner's
 * DATABASE_URL), or nothing for a file that is not one of the checkout's processes.
 *
 * @example
 * spawn(node, ['--import', 'tsx', file], { env: { ...env, ...entryPointEnv(file, [], env) } });
 */
export function entryPointEnv(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const name = principalOfProcess(file, args);
  if (name === undefined) return {};
  const config = loadConfig(env);
  return principalEnv(name, config.stack.dir, config.database.url);
}
