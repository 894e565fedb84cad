import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../lib/config';
import type { MachineFacts } from './report/types';

const exec = promisify(execFile);

/** Packages whose versions shape the figures. */
const PACKAGES = [
  '@temporalio/client',
  '@temporalio/worker',
  'nats',
  'pg',
  'hono',
  '@hono/node-server',
  'zod',
  'pino',
  'tsx',
  'autocannon',
  'hdr-histogram-js',
];

async function packageVersion(name: string): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

async function firstLine(file: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await exec(file, args, { timeout: 10_000 });
    return (stdout || stderr).trim().split('\n')[0] ?? 'unknown';
  } catch (err) {
    return `unavailable (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
  }
}

/**
 * Facts about the machine and software a run measured, so figures can be compared honestly.
 *
 * @example
 * const facts = await machineFacts({ 'nats-server': '/path/nats-server' }, { postgres: '17.2' }, loadAtStart);
 */
export async function machineFacts(
  binaries: Record<string, string>,
  known: Record<string, string>,
  loadAtStart: number,
): Promise<MachineFacts> {
  const packages: Record<string, string> = {};
  for (const name of PACKAGES) packages[name] = await packageVersion(name);
  const versions: Record<string, string> = {};
  for (const [name, path] of Object.entries(binaries)) versions[name] = await firstLine(path, ['--version']);
  Object.assign(versions, known);
  const commit = await firstLine('git', ['-C', repoRoot, 'rev-parse', 'HEAD']);
  let dirty = false;
  try {
    dirty =
      (await exec('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no'])).stdout.trim().length > 0;
  } catch {
    dirty = false;
  }
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osType()} ${release()}`,
    node: process.version,
    packages,
    binaries: versions,
    gitCommit: commit,
    gitDirty: dirty,
    loadAverage: { start: loadAtStart, end: Math.round((loadavg()[0] ?? 0) * 100) / 100 },
  };
}

/** The current 1-minute load average, two decimals. */
export function loadAverageNow(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}
