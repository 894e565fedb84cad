import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../../lib/config';

/** Where the local stack keeps its state. Everything except built binaries lives under STACK_DIR. */
export interface StackLayout {
  /** STACK_DIR, absolute. */
  dir: string;
  /** Pid files and the `up`/`down` lock. */
  runDir: string;
  logsDir: string;
  /** `<STACK_DIR>/postgres`: the cluster home, or a symlink to it (see postgres.ts). */
  postgresDir: string;
  natsDir: string;
  temporalDir: string;
  /** Downloads and builds shared by every checkout of the project. */
  cacheDir: string;
  binDir: string;
}

/** Resolves the stack directories from the configuration (pure; creates nothing). */
export function stackLayout(config: Config): StackLayout {
  const dir = resolve(config.stack.dir);
  return {
    dir,
    runDir: join(dir, 'run'),
    logsDir: join(dir, 'logs'),
    postgresDir: join(dir, 'postgres'),
    natsDir: join(dir, 'nats'),
    temporalDir: join(dir, 'temporal'),
    cacheDir: resolve(config.stack.cacheDir),
    binDir: resolve(config.stack.binDir),
  };
}

/** Creates the directories every command needs (idempotent). */
export function ensureBaseDirs(layout: StackLayout): void {
  for (const dir of [layout.runDir, layout.logsDir, layout.binDir]) mkdirSync(dir, { recursive: true });
}
