import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findOnPath, indent, isExecutable, isRoot, run, runChecked, tailLines, type RunResult } from './commands';
import type { StackContext } from './context';
import { StackError } from './errors';
import { aptInstall } from './installers';

/** The OS user that owns and runs the cluster when we are root (PostgreSQL refuses to run as root). */
export const PG_OS_USER = 'postgres';

/** Runs a PostgreSQL tool as the cluster's owner: `postgres` when we are root, else ourselves. */
export function runAsOwner(command: string, args: readonly string[], input?: string): Promise<RunResult> {
  // cwd `/` because the postgres user may not be allowed into our working directory.
  if (isRoot()) return run('runuser', ['-u', PG_OS_USER, '--', command, ...args], { cwd: '/', input });
  return run(command, args, { cwd: '/', input });
}

/** `runAsOwner` that throws a StackError with the tool's output on a non-zero exit. */
export async function runAsOwnerChecked(
  what: string,
  command: string,
  args: readonly string[],
  opts: { input?: string; fix?: string } = {},
): Promise<RunResult> {
  const result = await runAsOwner(command, args, opts.input);
  if (result.code !== 0) {
    const output = tailLines(`${result.stderr}\n${result.stdout}`, 12);
    throw new StackError(`${what} failed (exit ${result.code})${output ? `:\n${indent(output)}` : ''}`, opts.fix);
  }
  return result;
}

/** Hands a path we created as root to the cluster's OS user (no-op when not root). */
export async function chownToOwner(path: string): Promise<void> {
  if (isRoot()) await runChecked(`chown ${PG_OS_USER} ${path}`, 'chown', [`${PG_OS_USER}:`, path]);
}

/** The PostgreSQL server tools, all from one installation. */
export interface PgBinaries {
  dir: string;
  initdb: string;
  pgCtl: string;
  psql: string;
}

const TOOLS = ['initdb', 'pg_ctl', 'psql', 'postgres'] as const;

function binariesIn(dir: string): PgBinaries | undefined {
  if (!TOOLS.every((tool) => isExecutable(join(dir, tool)))) return undefined;
  return { dir, initdb: join(dir, 'initdb'), pgCtl: join(dir, 'pg_ctl'), psql: join(dir, 'psql') };
}

/** Debian's /usr/lib/postgresql/<major>/bin directories, newest first. */
function debianBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'));
}

/**
 * Finds initdb/pg_ctl/psql/postgres from one installation: the major version that created an
 * existing data dir first (a cluster only runs under its own major), then PATH, then the newest
 * Debian install.
 */
export async function findBinaries(dataDir: string): Promise<PgBinaries | undefined> {
  const versionFile = join(dataDir, 'PG_VERSION');
  const initdbOnPath = await findOnPath('initdb');
  const candidates = [...(initdbOnPath ? [dirname(realpathSync(initdbOnPath))] : []), ...debianBinDirs()];
  if (existsSync(versionFile)) {
    const major = readFileSync(versionFile, 'utf8').trim();
    for (const dir of candidates) {
      const bins = binariesIn(dir);
      if (bins && (await majorVersion(bins)) === major) return bins;
    }
    throw new StackError(
      `${dataDir} was created by PostgreSQL ${major}, which is not installed`,
      `install postgresql-${major}, or discard the local data: stack:down, then rm -rf ${dataDir}, then stack:up`,
    );
  }
  for (const dir of candidates) {
    const bins = binariesIn(dir);
    if (bins) return bins;
  }
  return undefined;
}

async function majorVersion(bins: PgBinaries): Promise<string | undefined> {
  const result = await run(bins.pgCtl, ['--version']);
  // "pg_ctl (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)" -> "15"
  return /\(PostgreSQL\)\s+(\d+)/.exec(result.stdout)?.[1];
}

/** `findBinaries`, installing PostgreSQL with apt-get when missing (root only; otherwise says how). */
export async function requireBinaries(ctx: StackContext, dataDir: string): Promise<PgBinaries> {
  const found = await findBinaries(dataDir);
  if (found) return found;
  await aptInstall('PostgreSQL (initdb, pg_ctl)', ['postgresql'], join(ctx.layout.logsDir, 'apt.log'), ctx.say);
  const installed = await findBinaries(dataDir);
  if (!installed)
    throw new StackError(
      'apt-get installed postgresql but initdb/pg_ctl are still not found',
      'check /usr/lib/postgresql/*/bin',
    );
  return installed;
}
