import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../lib/config';
import { findOnPath, indent, run, runLogged, tailLines } from './commands';
import type { StackContext } from './context';
import { StackError } from './errors';
import { aptInstall } from './installers';
import { displayPath, elapsed, stepLine } from './report';
import type { ComponentReport } from './types';

/** The pinned Python tools (schema code generators, validators, fuzzers) the scripts and tests run. */
export const PYTHON_REQUIREMENTS = join(repoRoot, 'scripts', 'python', 'requirements.txt');

/** Where the environment of the current requirements file lives under the cache directory. */
function pythonEnvPaths(cacheDir: string): { home: string; bin: string; marker: string } {
  const hash = createHash('sha256').update(readFileSync(PYTHON_REQUIREMENTS)).digest('hex').slice(0, 12);
  const home = join(cacheDir, 'python', hash);
  return { home, bin: join(home, 'bin'), marker: join(home, '.installed') };
}

/**
 * The path of a tool of the pinned Python environment (e.g. `st`, Schemathesis), for tests and
 * scripts that run it; installs nothing.
 *
 * @throws StackError naming the command that installs it, when the environment is not installed.
 * @example
 * const st = installedPythonTool(config.stack.cacheDir, 'st');
 */
export function installedPythonTool(cacheDir: string, tool: string): string {
  const { bin, marker } = pythonEnvPaths(cacheDir);
  if (!existsSync(marker))
    throw new StackError(
      `the pinned Python tools (${displayPath(PYTHON_REQUIREMENTS)}) are not installed`,
      'run `npx tsx scripts/stack/cli.ts up --python` (npm test does)',
    );
  return join(bin, tool);
}

/**
 * A virtual environment with exactly the pinned requirements, cached per hash of the requirements
 * file, so changing a pin builds a new one and never mutates an environment another checkout uses.
 * A marker file is written last: an environment without it (an interrupted install) is rebuilt.
 *
 * @returns the environment's `bin` directory.
 */
export async function ensurePythonEnv(ctx: StackContext): Promise<string> {
  const { home, bin, marker } = pythonEnvPaths(ctx.layout.cacheDir);
  if (existsSync(marker)) return bin;

  const python = await pythonWithVenv(ctx);
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  const logFile = join(ctx.layout.logsDir, 'python-env.log');
  const started = Date.now();
  ctx.say(
    stepLine('python', 'installing', `${displayPath(PYTHON_REQUIREMENTS)} into a venv (log ${displayPath(logFile)})`),
  );
  const steps: [string, string[]][] = [
    [python, ['-m', 'venv', home]],
    [join(bin, 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '-r', PYTHON_REQUIREMENTS]],
  ];
  for (const [command, args] of steps) {
    const code = await runLogged(command, args, logFile);
    if (code !== 0) {
      throw new StackError(
        `${[command, ...args].join(' ')} failed (exit ${code}):\n${indent(tailLines(readFileSync(logFile, 'utf8'), 12))}`,
        `read ${logFile}; a network error to PyPI is the usual cause, rerun when it is reachable`,
      );
    }
  }
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  ctx.say(stepLine('python', 'installed', `in ${elapsed(started)}: ${displayPath(home)}`));
  return bin;
}

/** python3 with the venv module, installing Debian's python3-venv when it is missing. */
async function pythonWithVenv(ctx: StackContext): Promise<string> {
  const python = await findOnPath('python3');
  if (python !== undefined && (await run(python, ['-c', 'import venv, ensurepip'])).code === 0) return python;
  await aptInstall(
    'Python 3 with venv',
    ['python3', 'python3-venv'],
    join(ctx.layout.logsDir, 'apt-python.log'),
    ctx.say,
  );
  const installed = await findOnPath('python3');
  if (installed === undefined)
    throw new StackError('python3 is still missing after installing it', 'install python3 and python3-venv');
  return installed;
}

/** {@link ensurePythonEnv} as a printed `ready` line. */
export async function pythonReport(ctx: StackContext): Promise<ComponentReport> {
  return { name: 'python', state: 'ready', address: displayPath(await ensurePythonEnv(ctx)) };
}
