import { join } from 'node:path';
import { loadConfig, repoRoot, type Config } from '../lib/config';
import { HA_PORT_SETS, haStackEnv, type HaPorts } from '../scripts/stack/ha/topology';
import { isolatedStackEnv } from '../scripts/stack/isolated';
import type { BenchPorts } from './args';

/** The bench's own stack lives here (git-ignored with the rest of `.stack/`). */
export const BENCH_STACK_DIR = join(repoRoot, '.stack', 'bench');

/** The HA bench's own stack (`--ha`): its own data, so `stack:up -- --ha` and chaos keep theirs. */
export const BENCH_HA_STACK_DIR = join(repoRoot, '.stack', 'bench-ha');

/** Ports of the HA bench stack: twenty above `stack:up -- --ha`'s, ten above the chaos runner's. */
export const BENCH_HA_PORTS: HaPorts = HA_PORT_SETS.bench;

/** Environment and parsed configuration of the bench's isolated stack instance. */
export interface BenchEnv {
  /** Exactly the variables every child process gets (nothing is inherited from the bench's own environment). */
  vars: Record<string, string>;
  config: Config;
}

/**
 * Builds the isolated stack's environment (with `ha`, the HA bench stack's): own STACK_DIR and ports, the shared binary cache of
 * `base` (so nothing is rebuilt), development token, info logging as in production.
 *
 * @example
 * const { vars, config } = benchEnv(ports, loadConfigOrExit().stack.cacheDir);
 */
export function benchEnv(
  ports: BenchPorts,
  cacheDir: string,
  extra: Record<string, string> = {},
  { ha = false }: { ha?: boolean } = {},
): BenchEnv {
  // As the chaos runner does (scripts/chaos/stack.ts): the isolated stack's settings, with every
  // address of the HA topology over them.
  const stack = ha
    ? { ...isolatedStackEnv(ports, BENCH_HA_STACK_DIR), ...haStackEnv(BENCH_HA_PORTS, BENCH_HA_STACK_DIR) }
    : isolatedStackEnv(ports, BENCH_STACK_DIR);
  const vars: Record<string, string> = {
    ...stack,
    STACK_CACHE_DIR: cacheDir,
    SHUTDOWN_GRACE_PERIOD: '20s',
    ...extra,
  };
  return { vars, config: loadConfig(vars) };
}
