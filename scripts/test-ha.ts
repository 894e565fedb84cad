import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { childEnv, repoRoot } from '../lib/config';
import { loadConfigOrExit } from '../lib/main';
import { haEnvFor } from './stack/ha/topology';

/**
 * `npm run test:ha`: brings the production-shaped stack up through the stack scripts
 * (`stack:up -- --ha --browser`), then runs the end-to-end suite on it unchanged: the same test
 * files as `npm test` runs, with only the addresses pointing at the HA stack (the test support
 * reads them from the configuration like every process), plus test/ha/ (the PostgreSQL failover
 * under writes), which only this stack can run. The stack keeps running afterwards, as
 * after `npm test`; `npm run stack:down -- --ha` stops it.
 */
const HA_SUITE = ['test/e2e/', 'test/browser/', 'test/ha/'];

const base = loadConfigOrExit();
const tsx = [process.execPath, '--import', 'tsx'] as const;

/** Runs one step, printing how long it took; exits with its status when it fails. */
function step(name: string, args: string[], env: Record<string, string> = {}): number {
  const started = Date.now();
  console.log(`\n== ${name}`);
  const [node, ...rest] = tsx;
  const r = spawnSync(node, [...rest, ...args], { cwd: repoRoot, stdio: 'inherit', env: childEnv(env) });
  if (r.error) console.error(`${name}: ${r.error.message}`);
  const seconds = (Date.now() - started) / 1000;
  if (r.status !== 0) {
    console.error(`${name} failed after ${seconds.toFixed(0)} s`);
    process.exit(r.status ?? 1);
  }
  return seconds;
}

const up = step('stack up --ha', [join('scripts', 'stack', 'cli.ts'), 'up', '--ha', '--browser']);
const tests = step(
  `end-to-end suite on the HA stack (${HA_SUITE.join(', ')})`,
  // Its chaos file brings up a second HA stack and runs 90 s of faults: more than npm test's 300 s a file.
  [join('scripts', 'run-tests.ts'), '--file-timeout', '720', ...HA_SUITE],
  haEnvFor(base),
);
console.log(
  `\ntest:ha passed: stack up ${up.toFixed(0)} s, tests ${tests.toFixed(0)} s, total ${(up + tests).toFixed(0)} s`,
);
