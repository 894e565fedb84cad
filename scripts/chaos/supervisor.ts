import { spawn, type ChildProcess } from 'node:child_process';
import { entryPointEnv } from '../../access/env';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../lib/config';
import { sleep } from '../../lib/wait';

/** One process the supervisor keeps running. */
export interface ProcessSpec {
  name: string;
  /** Entry file, relative to the repository root, run with `node --import tsx`. */
  file: string;
}

/** An exit the supervisor did not cause (a crash, or a start-up failure while a dependency was down). */
export interface UnexpectedExit {
  name: string;
  atMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /**
   * `logged`: the process logged a fatal error and exited (e.g. NATS was down while it started);
   * `crash`: it died without saying why (an unhandled error), which is a bug.
   */
  kind: 'logged' | 'crash';
}

interface Slot {
  spec: ProcessSpec;
  child: ChildProcess | undefined;
  /** Set before a kill we inject, so its exit is not counted as a crash. */
  expectExit: boolean;
  restartAfterMs: number;
  stopped: boolean;
  starts: number;
  exited: Promise<void>;
  /** Size of its log when the current instance started: where that instance's output begins. */
  logOffset: number;
  /** `CRASH_POINTS` of the next instance (and of the current one, while it runs armed). */
  armed: string | undefined;
}

/** A crash point that killed its process. */
export interface CrashHit {
  name: string;
  point: string;
  atMs: number;
}

const UNEXPECTED_RESTART_MS = 1_000;

/**
 * Runs the application processes as an orchestrator would: each is restarted after it exits,
 * whether we killed it or it crashed. Every child gets the same environment (the isolated stack's)
 * and appends its output to `<logDir>/<name>.log`.
 *
 * @example
 * const sup = new Supervisor(env, logDir, Date.now());
 * sup.start({ name: 'relay-1', file: 'workers/relay.ts' });
 * await sup.kill('relay-1', 'SIGKILL', 1000);
 */
export class Supervisor {
  private readonly slots = new Map<string, Slot>();
  private shuttingDown = false;
  /** Aborted by `stopAll`, which ends every pause early. */
  private readonly ending = new AbortController();
  readonly unexpected: UnexpectedExit[] = [];
  readonly crashHits: CrashHit[] = [];
  /** Children that could not even be spawned; the runner fails the run on any. */
  readonly spawnErrors: string[] = [];

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly logDir: string,
    private readonly startedAt: number,
    /** Per-process addresses over `env` (the proxies on its hops). */
    private readonly overlay: (name: string) => Record<string, string> = () => ({}),
  ) {
    mkdirSync(logDir, { recursive: true });
  }

  /** Starts `spec`; with `armed`, its instances run with `CRASH_POINTS=armed` until one dies there. */
  start(spec: ProcessSpec, armed?: string): void {
    const slot: Slot = {
      spec,
      child: undefined,
      expectExit: false,
      restartAfterMs: 0,
      stopped: false,
      starts: 0,
      exited: Promise.resolve(),
      logOffset: 0,
      armed,
    };
    this.slots.set(spec.name, slot);
    this.spawn(slot);
  }

  private spawn(slot: Slot): void {
    const logFile = this.logFile(slot);
    const fd = openSync(logFile, 'a');
    slot.logOffset = statSync(logFile).size;
    const base = { ...this.env, ...this.overlay(slot.spec.name) };
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, ['--import', 'tsx', slot.spec.file], {
        cwd: repoRoot,
        // Each of the checkout's processes runs as its own principal, as in production.
        env: {
          ...base,
          ...entryPointEnv(slot.spec.file, [], base),
          ...(slot.armed ? { CRASH_POINTS: slot.armed } : {}),
        },
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    slot.child = child;
    slot.stopped = false;
    slot.starts += 1;
    slot.exited = new Promise<void>((resolve) => {
      child.on('exit', (code, signal) => {
        slot.child = undefined;
        resolve();
        if (this.shuttingDown) return;
        const delay = slot.expectExit ? slot.restartAfterMs : UNEXPECTED_RESTART_MS;
        const point = slot.armed;
        // An armed instance that SIGKILLed itself died at its crash point: expected, and disarmed.
        if (point && !slot.expectExit && signal === 'SIGKILL') {
          slot.armed = undefined;
          this.crashHits.push({ name: slot.spec.name, point, atMs: Date.now() - this.startedAt });
        } else if (!slot.expectExit)
          this.unexpected.push({
            name: slot.spec.name,
            atMs: Date.now() - this.startedAt,
            code,
            signal,
            kind: this.loggedFatal(slot) ? 'logged' : 'crash',
          });
        slot.expectExit = false;
        setTimeout(() => {
          if (!this.shuttingDown && slot.child === undefined) this.spawn(slot);
        }, delay).unref();
      });
    });
    child.on('error', (err) => {
      // Spawning node itself failed: nothing will run, so the run cannot mean anything.
      this.spawnErrors.push(`could not start ${slot.spec.name}: ${err.message}`);
    });
  }

  private logFile(slot: Slot): string {
    return join(this.logDir, `${slot.spec.name}.log`);
  }

  /** True when the instance that just exited logged a fatal (pino level 60) line before exiting. */
  private loggedFatal(slot: Slot): boolean {
    return readFileSync(this.logFile(slot)).subarray(slot.logOffset).toString('utf8').includes('"level":60');
  }

  private slot(name: string): Slot {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`no process ${name}`);
    return slot;
  }

  /**
   * Sends `signal` and waits for the exit; the supervisor restarts it `restartAfterMs` later.
   * @returns false when the process was not running (a restart was already pending).
   */
  async kill(name: string, signal: NodeJS.Signals, restartAfterMs: number): Promise<boolean> {
    const slot = this.slot(name);
    const child = slot.child;
    if (!child?.pid) return false;
    slot.expectExit = true;
    slot.restartAfterMs = restartAfterMs;
    child.kill(signal);
    await slot.exited;
    return true;
  }

  /**
   * Waits up to `waitMs` for `name`, started with `point` armed, to die there (an instance killed
   * by another fault restarts still armed). Not reached by then: restarted unarmed.
   * @returns whether the point was hit.
   */
  async awaitCrash(name: string, point: string, waitMs: number): Promise<boolean> {
    const slot = this.slot(name);
    const hit = () => this.crashHits.some((h) => h.name === name && h.point === point);
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && !this.shuttingDown && !hit()) await sleep(100, this.ending.signal);
    if (hit()) return true;
    if (slot.armed === point) {
      slot.armed = undefined;
      if (!this.shuttingDown) await this.kill(name, 'SIGKILL', 0);
    }
    return hit();
  }

  /** SIGSTOP for `pauseMs`, then SIGCONT. Returns false when the process was not running. */
  async pause(name: string, pauseMs: number): Promise<boolean> {
    const slot = this.slot(name);
    const child = slot.child;
    if (!child?.pid) return false;
    child.kill('SIGSTOP');
    slot.stopped = true;
    await Promise.race([sleep(pauseMs, this.ending.signal), slot.exited]);
    if (slot.child === child && slot.stopped) {
      child.kill('SIGCONT');
      slot.stopped = false;
    }
    return true;
  }

  /** Heal: continues any process still paused and waits until every process is running again. */
  async healAll(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const slot of this.slots.values()) {
      if (slot.stopped && slot.child) {
        slot.child.kill('SIGCONT');
        slot.stopped = false;
      }
    }
    while ([...this.slots.values()].some((s) => s.child === undefined)) {
      if (Date.now() > deadline) throw new Error('processes did not come back after healing');
      await sleep(100);
    }
  }

  /** How often each process was started (1 = never restarted). */
  starts(): Record<string, number> {
    return Object.fromEntries([...this.slots.values()].map((s) => [s.spec.name, s.starts]));
  }

  /** Names of the processes not running right now. */
  down(): string[] {
    return [...this.slots.values()].filter((s) => s.child === undefined).map((s) => s.spec.name);
  }

  /** SIGTERM to everyone (SIGCONT first for a paused one), SIGKILL whoever is left after `graceMs`. */
  async stopAll(graceMs: number): Promise<void> {
    this.shuttingDown = true;
    this.ending.abort();
    const slots = [...this.slots.values()];
    for (const s of slots) {
      if (s.stopped) s.child?.kill('SIGCONT');
      s.child?.kill('SIGTERM');
    }
    const all = Promise.all(slots.map((s) => s.exited));
    await Promise.race([all, sleep(graceMs)]);
    for (const s of slots) s.child?.kill('SIGKILL');
    await all;
  }
}
