import { join } from 'node:path';
import { loadConfig, repoRoot, type Config } from '../lib/config';
import { isolatedStackEnv } from '../scripts/stack/isolated';
import type { BenchPorts } from './args';

/** The bench's own stack lives here (git-ignored with the rest of `.stack/`). */
export const BENCH_STACK_DIR = join(repoRoot, '.stack', 'bench');

/** Environment and parsed configuration of the bench's isolated stack instance. */
export interface BenchEnv {
  /** Exactly the variables every child process gets (nothing is inherited from the bench's own environment). */
  vars: Record<string, string>;
  config: Config;
}

/**
 * Builds the isolated stack's environment: own STACK_DIR and ports, the shared binary cache of
 * `base` (so nothing is rebuilt), development token, info logging as in production.
 *
 * @example
 * const { vars, config } = benchEnv(ports, loadConfigOrExit().stack.cacheDir);
 */
export function benchEnv(ports: BenchPorts, cacheDir: string, extra: Record<string, string> = {}): BenchEnv {
  const vars: Record<string, string> = {
    ...isolatedStackEnv(ports, BENCH_STACK_DIR),
    STACK_CACHE_DIR: cacheDir,
    SHUTDOWN_GRACE_PERIOD: '20s',
    ...extra,
  };
  return { vars, config: loadConfig(vars) };
}
