import { spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream } from 'node:fs';
import { childEnv } from '../../lib/config';
import { StackError } from './errors';

/** Captured outcome of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for `run`. */
export interface RunOptions {
  /** Written to the command's stdin (used for SQL so secrets never appear in argv). */
  input?: string;
  cwd?: string;
  /** Variables added to the inherited environment (e.g. a tool's password variable, kept out of argv). */
  env?: Record<string, string>;
}

/**
 * Runs a command to completion and captures its output. A non-zero exit is returned, not thrown,
 * because callers decide what it means; failing to start the command at all is thrown.
 */
export function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env === undefined ? undefined : childEnv(opts.env),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (err) =>
      reject(new StackError(`could not run ${command}: ${err.message}`, undefined, { cause: err })),
    );
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    if (child.stdin) {
      // EPIPE here means the command exited without reading its input; its exit code and
      // stderr (returned above) say why, so the write error itself adds nothing.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
  });
}

/**
 * Like `run`, but a non-zero exit throws a StackError saying `what` failed, with the
 * last lines of the command's output and `fix`.
 */
export async function runChecked(
  what: string,
  command: string,
  args: readonly string[],
  opts: RunOptions & { fix?: string } = {},
): Promise<RunResult> {
  const result = await run(command, args, opts);
  if (result.code !== 0) {
    const output = tailLines(`${result.stderr}\n${result.stdout}`, 12);
    throw new StackError(`${what} failed (exit ${result.code})${output ? `:\n${indent(output)}` : ''}`, opts.fix);
  }
  return result;
}

/**
 * Runs a long command (apt-get, go install, mvn) with all output appended to `logFile`.
 * `onLine` sees each output line so callers can summarise progress.
 *
 * @returns the exit code.
 */
export function runLogged(
  command: string,
  args: readonly string[],
  logFile: string,
  onLine?: (line: string) => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile, { flags: 'a' });
    log.write(`\n$ ${[command, ...args].join(' ')}\n`);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    const onData = (chunk: string): void => {
      log.write(chunk);
      if (!onLine) return;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.on('error', (err) => {
      log.end();
      reject(new StackError(`could not run ${command}: ${err.message}`, undefined, { cause: err }));
    });
    child.on('close', (code, signal) => log.end(() => resolve(code ?? (signal ? 128 : 1))));
  });
}

/** True when `path` exists and is executable by us. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    // Missing or not executable: both just mean "not this candidate".
    return false;
  }
}

/**
 * Absolute path of `name` on PATH, or undefined. Asks the shell (`command -v`) so PATH lookup
 * follows the same rules as an interactive shell and we never read the environment ourselves.
 */
export async function findOnPath(name: string): Promise<string | undefined> {
  const result = await run('sh', ['-c', 'command -v "$1"', 'sh', name]);
  const path = result.stdout.trim();
  return result.code === 0 && path.startsWith('/') ? path : undefined;
}

/** First executable among `candidates` (absolute paths), then `name` on PATH. */
export async function findExecutable(name: string, candidates: readonly string[]): Promise<string | undefined> {
  return candidates.find(isExecutable) ?? (await findOnPath(name));
}

/** True when this process runs as root (PostgreSQL must then be run as the `postgres` user). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Last `count` non-empty lines of `text`. */
export function tailLines(text: string, count: number): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0)
    .slice(-count)
    .join('\n');
}

/** Indents every line for nesting under an error message. */
export function indent(text: string, prefix = '    '): string {
  return text
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}
