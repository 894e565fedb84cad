import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../lib/config';
import { testLogDir } from './test-log-reporter';

/**
 * Runs type-check, lint, then every `test/**\/*.test.ts` with Node's built-in runner (via tsx),
 * one file at a time: integration files share one Postgres, NATS and Temporal.
 * Extra arguments filter the files by substring, e.g. `npm run test:only -- workflow`.
 * The terminal shows the spec reporter's results; what the tests and their processes log goes to
 * `test-results/logs/<file>.log`, and the tail of a failing file's log is printed after the summary.
 */
function find(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return find(path);
    return entry.endsWith('.test.ts') ? [relative(repoRoot, path)] : [];
  });
}

/** A hung test process must fail the run, not stall CI: the whole suite gets 25 minutes. */
const SUITE_TIMEOUT_MS = 25 * 60_000;

function step(name: string, cmd: string, args: string[]): void {
  console.log(`\n== ${name}`);
  const r = spawnSync(cmd, args, { cwd: repoRoot, stdio: 'inherit', timeout: SUITE_TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (r.error) console.error(`${name}: ${r.error.message}`);
  if (r.status !== 0) {
    console.error(`${name} failed`);
    process.exit(r.status ?? 1);
  }
}

const { values: flags, positionals: filters } = parseArgs({
  allowPositionals: true,
  options: { 'file-timeout': { type: 'string', default: '300' } },
});
/**
 * Seconds one test file may take before the runner cancels it: 300 for `npm test`; `npm run
 * test:ha` gives more, because its chaos file runs a whole second HA stack through 90 s of faults.
 */
const fileTimeoutSeconds = Number(flags['file-timeout']);
if (!Number.isInteger(fileTimeoutSeconds) || fileTimeoutSeconds < 1) {
  console.error(`--file-timeout expects whole seconds, got ${flags['file-timeout']}`);
  process.exit(2);
}
/** Tests of the production-shaped stack only: `npm run test:ha` names them; a run without filters leaves them out. */
const HA_ONLY = join('test', 'ha');
const files = find(join(repoRoot, 'test'))
  .filter((f) => (filters.length === 0 ? !f.startsWith(HA_ONLY) : filters.some((x) => f.includes(x))))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);
if (filters.length === 0) {
  step('typecheck', bin('tsc'), ['--noEmit', '-p', '.']);
  step('lint', bin('eslint'), ['.']);
  step('format', bin('prettier'), ['--check', '--log-level', 'warn', '.']);
  step('code size', process.execPath, [
    '--import',
    'tsx',
    join(repoRoot, 'scripts', 'code-size.ts'),
    '--check',
    '--top',
    '0',
  ]);
}
// Logs of an earlier run would pass for this run's in a failure's tail.
rmSync(testLogDir, { recursive: true, force: true });
step('tests', process.execPath, [
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=1',
  `--test-timeout=${fileTimeoutSeconds * 1000}`,
  `--test-reporter=${join(repoRoot, 'scripts', 'test-log-reporter-entry.mjs')}`,
  '--test-reporter-destination=stdout',
  ...files,
]);
