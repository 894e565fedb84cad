import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../lib/config';

/**
 * Runs `scripts/chaos/run.ts` with `args` as `npm run chaos` would, collecting its output; SIGTERM
 * after `timeoutMs` (the runner then stops its processes and its stack).
 *
 * @example
 * const { code, output } = await runChaos(['--seed', '1', '--orders', '10'], 200_000);
 */
export function runChaos(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join('scripts', 'chaos', 'run.ts'), ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
