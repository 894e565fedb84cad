import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { StackError } from './errors';
import { tailLines } from './commands';
import { sleep } from '../../lib/wait';

/** The pid in a pid file, or undefined when the file is missing or holds no number. */
export function readPidFile(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  // postmaster.pid has more lines after the pid; only the first matters here.
  const first = readFileSync(pidFile, 'utf8').split('\n')[0]?.trim() ?? '';
  const pid = Number(first);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** True when a process with this pid exists (EPERM still means it exists). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** argv[0] of a running process, from /proc; undefined when the process is gone. */
function processExecutable(pid: number): string | undefined {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
    return argv0 === undefined ? undefined : basename(argv0);
  } catch {
    // The process exited between the liveness check and this read.
    return undefined;
  }
}

/**
 * The pid from `pidFile` if that process is alive and still runs `executable`.
 * Checking the executable guards against a stale pid file whose pid was reused after a reboot.
 */
export function ownedPid(pidFile: string, executable: string): number | undefined {
  const pid = readPidFile(pidFile);
  if (pid === undefined || !isProcessAlive(pid)) return undefined;
  const running = processExecutable(pid);
  // Without /proc (not Linux) we cannot check; trust the pid file then.
  if (running !== undefined && !running.startsWith(basename(executable))) return undefined;
  return pid;
}

/** A child started by `spawnDetached`. */
export interface DetachedProcess {
  pid: number;
  /** Exit description once the child has exited while we were still around to see it. */
  exited: () => string | undefined;
}

/**
 * Starts a long-running server that outlives this process: its own session (so Ctrl-C on
 * `npm start` does not kill it), stdout/stderr appended to `logFile`, pid written to `pidFile`.
 */
export function spawnDetached(
  command: string,
  args: readonly string[],
  opts: { logFile: string; pidFile: string; cwd: string },
): DetachedProcess {
  const fd = openSync(opts.logFile, 'a');
  try {
    const child = spawn(command, args, { cwd: opts.cwd, detached: true, stdio: ['ignore', fd, fd] });
    let exit: string | undefined;
    child.on('exit', (code, signal) => (exit = signal ? `killed by ${signal}` : `exited with code ${code ?? '?'}`));
    // Spawn errors (e.g. ENOENT) arrive asynchronously; surface them through exited() too.
    child.on('error', (err) => (exit = `failed to start: ${err.message}`));
    if (child.pid === undefined)
      throw new StackError(`could not start ${command}`, `check that ${command} exists and is executable`);
    writeFileSync(opts.pidFile, `${child.pid}\n`);
    child.unref();
    return { pid: child.pid, exited: () => exit };
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(fd);
  }
}

/**
 * Throws a StackError when a process we just started has already exited, quoting its log.
 * Used inside readiness probes so a crash fails fast instead of waiting for the timeout.
 */
export function assertStillRunning(
  name: string,
  proc: DetachedProcess,
  logFile: string,
  logExcerpt: () => string,
): void {
  const exit = proc.exited();
  if (exit === undefined) return;
  const excerpt = tailLines(logExcerpt(), 15);
  throw new StackError(
    `${name} ${exit} right after start${excerpt ? `; last log lines:\n${excerpt.replace(/^/gm, '    ')}` : ''}`,
    `read ${logFile}`,
  );
}

/**
 * Stops a process: SIGTERM, wait up to `graceMs`, then SIGKILL and wait again.
 *
 * @returns how it ended: `terminated` (clean) or `killed` (needed SIGKILL).
 */
export async function stopProcess(name: string, pid: number, graceMs: number): Promise<'terminated' | 'killed'> {
  process.kill(pid, 'SIGTERM');
  if (await exitedWithin(pid, graceMs)) return 'terminated';
  process.kill(pid, 'SIGKILL');
  if (await exitedWithin(pid, 5000)) return 'killed';
  throw new StackError(
    `${name} (pid ${pid}) is still alive after SIGKILL`,
    `check \`ps -p ${pid}\` (a process stuck in the kernel cannot be killed)`,
  );
}

/** True once `pid` is gone, false if it is still alive at the deadline. */
async function exitedWithin(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

/** Removes a pid file once its process is gone. */
export function removePidFile(pidFile: string): void {
  rmSync(pidFile, { force: true });
}

/**
 * Stops the process recorded in `pidFile` if it is one we started (`executable` matches), and
 * clears the pid file either way.
 *
 * @returns the pid that was stopped, or undefined when none of ours was running.
 */
export async function stopOwned(
  name: string,
  pidFile: string,
  executable: string,
  graceMs: number,
): Promise<number | undefined> {
  const pid = ownedPid(pidFile, executable);
  if (pid !== undefined) await stopProcess(name, pid, graceMs);
  removePidFile(pidFile);
  return pid;
}

/** Reads the tail of a log file for error messages; empty when it does not exist yet. */
export function readLogTail(logFile: string, maxBytes = 16_384): string {
  if (!existsSync(logFile)) return '';
  const text = readFileSync(logFile, 'utf8');
  return text.slice(-maxBytes);
}
