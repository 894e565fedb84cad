import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { childEnv } from '../../lib/config';

/** What a command-line tool printed, and how it ended. */
export interface ToolRun {
  code: number | null;
  /** stdout alone (e.g. rendered manifests), without the warnings a tool prints on stderr. */
  stdout: string;
  /** stdout and stderr together, for messages. */
  output: string;
}

/**
 * Runs `bin args` in `cwd` (this process's environment plus `env`) and returns its exit code with stdout and stderr together.
 *
 * @example
 * const run = runTool(promtool, ['check', 'rules', 'rules.yml'], dir);
 */
export function runTool(bin: string, args: readonly string[], cwd: string, env: Record<string, string> = {}): ToolRun {
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8', timeout: 120_000, env: childEnv(env) });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, output: `${r.stdout}${r.stderr}` };
}

/** Asserts that the tool succeeded, failing with everything it printed when it did not. */
export function assertToolSucceeded(run: ToolRun, what: string): void {
  assert.equal(run.code, 0, `${what} exited with ${run.code}:\n${run.output}`);
}
