import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { entryPointEnv } from '../../access/env';
import { childEnv, repoRoot } from '../../lib/config';
import { sleep } from '../../lib/wait';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A process a test started: what it printed is kept for assertions and copied into the test's log. */
export interface TestProcess {
  name: string;
  proc: ChildProcess;
  /** Resolves once the process has exited and its output has been read to the end. */
  exited: Promise<Exit>;
  /** Every line it printed on stdout or stderr, in order. */
  lines: string[];
  /** Its JSON (pino) lines, parsed. */
  logs: Record<string, unknown>[];
  /** Resolves with the first line `match` accepts; fails after `timeoutMs`, naming `what`. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number, what: string): Promise<string>;
  /** Resolves with the first log line `match` accepts; fails after `timeoutMs` with the messages seen. */
  waitForLog(
    match: (log: Record<string, unknown>) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<Record<string, unknown>>;
}

async function poll<T>(find: () => T | undefined, timeoutMs: number, failure: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() >= deadline) throw new Error(failure());
    await sleep(50);
  }
}

function watch(name: string, proc: ChildProcess): TestProcess {
  const lines: string[] = [];
  const logs: Record<string, unknown>[] = [];
  for (const stream of [proc.stdout, proc.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (line.startsWith('{')) {
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // A line that only looks like JSON is still kept in `lines`.
        }
      }
      // The test runner routes this to the test file's log, next to the test's own lines.
      process.stdout.write(`[${name} ${proc.pid}] ${line}\n`);
    });
  }
  // 'close', not 'exit': the last lines are read before anyone looks at them.
  const exited = new Promise<Exit>((resolve) => proc.once('close', (code, signal) => resolve({ code, signal })));
  return {
    name,
    proc,
    exited,
    lines,
    logs,
    waitForLine: (match, timeoutMs, what) =>
      poll(
        () => lines.find(match),
        timeoutMs,
        () => `timed out after ${timeoutMs} ms waiting for ${what} from ${name}`,
      ),
    waitForLog: (match, timeoutMs, what) =>
      poll(
        () => logs.find(match),
        timeoutMs,
        () => `timed out waiting for ${what}; ${name} logged: ${logs.map((l) => String(l.msg)).join(' | ')}`,
      ),
  };
}

/**
 * Sends `signal` and resolves with how the process exited (at once if it already has). One still
 * running after `killAfterMs` is SIGKILLed, so a hung process cannot hang the suite.
 *
 * @example
 * assert.deepEqual(await stopProcess(relay, 'SIGTERM'), { code: 0, signal: null });
 */
export async function stopProcess(p: TestProcess, signal: NodeJS.Signals, killAfterMs = 15_000): Promise<Exit> {
  if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill(signal);
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), killAfterMs);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The processes a suite starts with `node --import tsx <file>` from the repository root, as the
 * stack runs them, so its after() can kill whatever a failed test left running.
 *
 * @example
 * const processes = new TestProcesses();
 * after(() => processes.killAll());
 * const relay = processes.start('relay', 'workers/relay.ts', { env: { DATABASE_URL: url } });
 * await relay.waitForLog((l) => l.msg === 'outbox relay joined', 20_000, 'the relay to join');
 */
export class TestProcesses {
  readonly #running = new Set<TestProcess>();

  /**
   * Starts `file` with this process's environment plus `env`. One of the checkout's processes
   * runs as its principal (access/principals.ts): its NATS user, and its role on the server and
   * database of `env`'s DATABASE_URL; `asGiven` keeps `env`'s credentials as they are.
   */
  start(
    name: string,
    file: string,
    options: { args?: string[]; env?: Record<string, string>; asGiven?: boolean } = {},
  ): TestProcess {
    const env = childEnv(options.env ?? {});
    const args = options.args ?? [];
    const proc = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
      cwd: repoRoot,
      env: options.asGiven ? env : { ...env, ...entryPointEnv(file, args, env) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = watch(name, proc);
    this.#running.add(p);
    void p.exited.then(() => this.#running.delete(p));
    return p;
  }

  /**
   * Starts an executable that is not a Node entry point (e.g. a pinned Python tool) with this
   * process's environment, in `cwd` (default the repository root): a tool that leaves caches
   * where it runs belongs in an ignored folder such as `test-results/`.
   */
  startExecutable(name: string, executable: string, args: readonly string[], cwd = repoRoot): TestProcess {
    const proc = spawn(executable, args, { cwd, env: childEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
    const p = watch(name, proc);
    this.#running.add(p);
    void p.exited.then(() => this.#running.delete(p));
    return p;
  }

  /** SIGKILLs every process still running and waits until they are gone. */
  async killAll(): Promise<void> {
    await Promise.all([...this.#running].map((p) => stopProcess(p, 'SIGKILL')));
  }
}
