import { spawn, type ChildProcess } from 'node:child_process';
import { entryPointEnv } from '../access/env';
import { createWriteStream, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { NatsConnection } from 'nats';
import { repoRoot } from '../lib/config';

/** A product process (API, worker, relay, subscriber) the bench runs as a real child. */
export interface AppProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Peak resident set size so far (Linux VmHWM), in bytes; undefined where /proc is missing. */
  peakRss(): Promise<number | undefined>;
  /** SIGTERM, then waits for the drain (SIGKILL after `timeoutMs`); resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export interface StartOptions {
  name: string;
  /** Entry point relative to the repository root, e.g. `workers/relay.ts`. */
  file: string;
  env: Record<string, string>;
  /** A stdout line matching this means the process is ready. */
  ready?: RegExp;
  /** Or: polled every 100 ms until it resolves true. */
  readyCheck?: () => Promise<boolean>;
  logDir: string;
  /** Directory for `node --cpu-prof` output; no profiling when undefined. */
  cpuProfDir?: string;
  timeoutMs?: number;
}

/** Reads VmHWM (peak RSS) of `pid` from /proc, in bytes. */
export async function peakRssOf(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

function waitExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * Starts `node --import tsx <file>` with exactly `env` and resolves once a stdout line matches
 * `ready`. Output goes to `<logDir>/<name>.log`.
 *
 * @example
 * const relay = await startProcess({ name: 'outbox-relay', file: 'workers/relay.ts', env, ready: /outbox relay joined/, logDir });
 * @throws Error when the process exits or stays silent past `timeoutMs` before it is ready.
 */
export async function startProcess(opts: StartOptions): Promise<AppProcess> {
  mkdirSync(opts.logDir, { recursive: true });
  const logFile = join(opts.logDir, `${opts.name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const nodeArgs = ['--import', 'tsx'];
  if (opts.cpuProfDir) {
    // One directory per process: node names each thread's profile itself (the tsx loader runs in a thread of its own).
    const dir = join(opts.cpuProfDir, opts.name);
    mkdirSync(dir, { recursive: true });
    nodeArgs.push('--cpu-prof', '--cpu-prof-dir', dir);
  }
  const child = spawn(process.execPath, [...nodeArgs, opts.file], {
    cwd: repoRoot,
    // Each of the checkout's processes runs as its own principal, as in production.
    env: { ...opts.env, ...entryPointEnv(opts.file, [], opts.env) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.pipe(log, { end: false });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${opts.name}`);
  const exited = waitExit(child);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  await new Promise<void>((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(
      () => reject(new Error(`${opts.name} not ready within ${timeoutMs / 1000}s; see ${logFile}`)),
      timeoutMs,
    );
    const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
    lines.on('line', (line) => {
      log.write(`${line}\n`);
      if (!ready && opts.ready?.test(line)) {
        ready = true;
        clearTimeout(timer);
        resolve();
      }
    });
    const poll = async (): Promise<void> => {
      while (!ready && opts.readyCheck && child.exitCode === null) {
        if (await opts.readyCheck().catch(() => false)) {
          ready = true;
          clearTimeout(timer);
          resolve();
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    void poll();
    void exited.then((code) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`${opts.name} exited with ${code} before it was ready; see ${logFile}`));
    });
  });
  return {
    name: opts.name,
    pid,
    logFile,
    peakRss: () => peakRssOf(pid),
    async stop(stopTimeoutMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const code = await exited;
      clearTimeout(killer);
      log.end();
      return code;
    },
  };
}

/** The product's processes as `npm start` runs them, with the log line that says each is ready. */
export const APP_PROCESSES = {
  api: { file: 'api/server.ts', ready: /"msg":"API listening"/ },
  'saga-worker': { file: 'workers/saga-worker.ts', ready: /"msg":"saga worker running"/ },
  'saga-starter': { file: 'workers/saga-starter.ts', ready: /"msg":"saga starter running"/ },
  'outbox-relay': { file: 'workers/relay.ts', ready: /"msg":"outbox relay partitions changed"/ },
  // The subscribers log nothing when they start: ready once their durable consumer has a pull waiting.
  'audit-subscriber': { file: 'workers/audit.ts', consumer: 'order-audit' },
  'read-model': { file: 'workers/read-model.ts', consumer: 'order-read-model' },
  notifications: { file: 'workers/notifications.ts', consumer: 'notifications' },
  'bare-worker': { file: 'bench/baseline/bare-worker.ts', ready: /"msg":"bare worker running"/ },
  'bare-api': { file: 'bench/baseline/bare-api.ts', ready: /"msg":"bare API listening"/ },
} as const satisfies Record<string, { file: string; ready: RegExp } | { file: string; consumer: string }>;

export type AppName = keyof typeof APP_PROCESSES;

/** Starts and stops the product's processes of one bench run; all logs and profiles under the bench stack dir. */
export class ProcessPool {
  private readonly running = new Map<string, AppProcess>();

  constructor(
    private readonly env: Record<string, string>,
    private readonly nc: NatsConnection,
    private readonly dirs: { logs: string; profiles: string },
    private readonly cpuProf: readonly string[],
  ) {}

  /** Starts instance `instance` of `app` (names: `outbox-relay`, `outbox-relay#2`, ...). */
  async start(app: AppName, instance = 1, extraEnv: Record<string, string> = {}): Promise<AppProcess> {
    const name = instance === 1 ? app : `${app}#${instance}`;
    const existing = this.running.get(name);
    if (existing) return existing;
    const spec: { file: string; ready?: RegExp; consumer?: string } = APP_PROCESSES[app];
    const durable = spec.consumer;
    const proc = await startProcess({
      name: name.replace('#', '-'),
      file: spec.file,
      env: { ...this.env, ...extraEnv },
      ready: spec.ready,
      readyCheck: durable === undefined ? undefined : () => this.pulling(durable),
      logDir: this.dirs.logs,
      cpuProfDir: this.cpuProf.includes(app) ? this.dirs.profiles : undefined,
    });
    this.running.set(name, proc);
    return proc;
  }

  /** True once the durable `name` on CHECKOUT has a pull request waiting. */
  private async pulling(name: string): Promise<boolean> {
    const jsm = await this.nc.jetstreamManager();
    const info = await jsm.consumers.info('CHECKOUT', name);
    return (info.num_waiting ?? 0) > 0;
  }

  /** Running process names. */
  names(): string[] {
    return [...this.running.keys()];
  }

  /** Peak RSS (MiB) of every running process right now. */
  async peakRss(): Promise<{ process: string; peakRssMiB: number }[]> {
    const out: { process: string; peakRssMiB: number }[] = [];
    for (const [name, proc] of this.running) {
      const bytes = await proc.peakRss();
      if (bytes !== undefined) out.push({ process: name, peakRssMiB: Math.round((bytes / 2 ** 20) * 10) / 10 });
    }
    return out;
  }

  async stop(name: string): Promise<void> {
    const proc = this.running.get(name);
    if (!proc) return;
    this.running.delete(name);
    const code = await proc.stop();
    if (code !== 0) throw new Error(`${name} exited with ${code} on SIGTERM; see ${proc.logFile}`);
  }

  /** Stops every process (in parallel); failures are collected, never thrown half-way. */
  async stopAll(): Promise<string[]> {
    const failures: string[] = [];
    await Promise.all(
      this.names().map((name) =>
        this.stop(name).catch((err: unknown) => failures.push(err instanceof Error ? err.message : String(err))),
      ),
    );
    return failures;
  }
}
