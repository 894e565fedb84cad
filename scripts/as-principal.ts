import { spawn } from 'node:child_process';
import { principalEnv } from '../access/env';
import { principalOfProcess } from '../access/principals';
import { childEnv, repoRoot } from '../lib/config';
import { loadConfigOrExit } from '../lib/main';

/**
 * `node --import tsx scripts/as-principal.ts <entry point> [args]`: runs one of the checkout's
 * processes as its principal, with its NATS user and PostgreSQL role from `<STACK_DIR>/secrets/`
 * (what docker-compose.yml runs, whose environment cannot read a file). Signals are passed on and
 * the exit status is the process's. A deployment with a secret store sets NATS_USER,
 * NATS_PASSWORD and DATABASE_URL itself and runs the entry point directly.
 */
const [file = '', ...args] = process.argv.slice(2);
const who = principalOfProcess(file, args);
if (who === undefined) {
  console.error(
    `usage: scripts/as-principal.ts <entry point of access/principals.ts> [args]; ${file} has no principal`,
  );
  process.exit(2);
}
const config = loadConfigOrExit();
const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
  cwd: repoRoot,
  stdio: 'inherit',
  env: childEnv(principalEnv(who, config.stack.dir, config.database.url)),
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 0 : 1)));
