import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { indent, isRoot, tailLines } from './commands';
import type { StackContext } from './context';
import { StackError } from './errors';
import type { StackLayout } from './layout';
import type { DbTarget } from './postgres-url';
import { chownToOwner, PG_OS_USER, runAsOwner, runAsOwnerChecked, type PgBinaries } from './postgres-tools';
import { ownedPid, readLogTail } from './processes';
import { displayPath, stepLine } from './report';

// pg_ctl start -w gives up after this long.
const START_TIMEOUT_S = 60;
// Used when the postgres OS user cannot reach STACK_DIR (e.g. a repo under a 0700 home).
const FALLBACK_ROOT = '/var/lib/postgresql/checkout-saga';
// A Unix socket path must fit in sun_path (107 bytes on Linux); keep a margin.
const MAX_SOCKET_PATH = 100;
const CONF_INCLUDE = 'checkout-saga.conf';

/** Where the project-owned cluster lives. */
export interface Cluster {
  /** Real directory holding data/ and the socket; `<STACK_DIR>/postgres` or its symlink target. */
  home: string;
  dataDir: string;
  /** `<STACK_DIR>/postgres/data`, the path we print (may go through the symlink). */
  displayDataDir: string;
  logFile: string;
  relocated: boolean;
}

/** Where the cluster is, following the fallback symlink if `up` created one (creates nothing). */
export function locateCluster(layout: StackLayout): Cluster {
  const link = layout.postgresDir;
  const relocated = lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
  const home = relocated ? realTarget(link) : link;
  return {
    home,
    dataDir: join(home, 'data'),
    displayDataDir: displayPath(join(link, 'data')),
    logFile: relocated ? join(home, 'postgres.log') : join(layout.logsDir, 'postgres.log'),
    relocated,
  };
}

function realTarget(link: string): string {
  // A dangling link (fallback dir deleted) still names where `up` should recreate it.
  return existsSync(link) ? realpathSync(link) : resolve(dirname(link), readlinkSync(link));
}

/** Pid of the project cluster's postmaster when it is running. */
export function clusterPid(cluster: Cluster): number | undefined {
  return ownedPid(join(cluster.dataDir, 'postmaster.pid'), 'postgres');
}

/** Port the running project cluster listens on (line 4 of postmaster.pid). */
export function clusterPort(cluster: Cluster): number | undefined {
  const pidFile = join(cluster.dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const line = readFileSync(pidFile, 'utf8').split('\n')[3];
  const port = Number(line?.trim());
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/**
 * Makes sure the cluster home exists and the cluster's OS user can use it. When that user cannot
 * traverse to STACK_DIR, or the socket path would be too long, the home moves to
 * /var/lib/postgresql/checkout-saga/<hash of STACK_DIR> with `<STACK_DIR>/postgres` symlinked to it.
 */
export async function prepareHome(ctx: StackContext, port: number): Promise<Cluster> {
  const link = ctx.layout.postgresDir;
  const current = locateCluster(ctx.layout);
  if (current.relocated) {
    mkdirSync(current.home, { recursive: true });
    await chownToOwner(current.home);
    linkLog(ctx.layout, current);
    return current;
  }
  mkdirSync(link, { recursive: true });
  await chownToOwner(link);
  const socketFits = socketPath(link, port).length <= MAX_SOCKET_PATH;
  if (socketFits && (await ownerCanUse(link))) return current;
  if (!isRoot()) {
    throw new StackError(
      `the PostgreSQL socket path ${socketPath(link, port)} is too long for a Unix socket`,
      'set STACK_DIR to a shorter path',
    );
  }
  if (readdirSync(link).length > 0) {
    throw new StackError(
      `${link} holds files but the ${PG_OS_USER} user can no longer use it`,
      `make the path traversable for ${PG_OS_USER} (chmod o+x on each parent), or move ${link} away`,
    );
  }
  const home = join(FALLBACK_ROOT, createHash('sha256').update(ctx.layout.dir).digest('hex').slice(0, 12));
  mkdirSync(home, { recursive: true });
  await chownToOwner(home);
  rmdirSync(link);
  symlinkSync(home, link);
  const why = socketFits
    ? `the ${PG_OS_USER} user cannot reach ${displayPath(ctx.layout.dir)}`
    : 'the socket path would be too long';
  ctx.say(stepLine('postgres', 'relocated', `${why}; cluster lives in ${home} (symlinked from ${displayPath(link)})`));
  const relocated = locateCluster(ctx.layout);
  linkLog(ctx.layout, relocated);
  return relocated;
}

/** Keeps a relocated cluster's log findable next to the other logs. */
function linkLog(layout: StackLayout, cluster: Cluster): void {
  const link = join(layout.logsDir, 'postgres.log');
  if (!lstatSync(link, { throwIfNoEntry: false })) symlinkSync(cluster.logFile, link);
}

function socketPath(dir: string, port: number): string {
  return join(dir, `.s.PGSQL.${port}`);
}

async function ownerCanUse(dir: string): Promise<boolean> {
  if (!isRoot()) return true;
  const result = await runAsOwner('test', ['-w', dir, '-a', '-x', dir]);
  return result.code === 0;
}

/** Quotes a value as an SQL string literal (standard_conforming_strings is on by default). */
export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Quotes a name as an SQL identifier. */
export function sqlIdent(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

/** Settings derived from DATABASE_URL; rewritten before every start so a port change just works. */
function writeStackConf(cluster: Cluster, target: DbTarget): string {
  const listen = target.host === 'localhost' ? 'localhost' : target.host;
  const path = join(cluster.dataDir, CONF_INCLUDE);
  writeFileSync(
    path,
    [
      '# Written by scripts/stack on every start from DATABASE_URL; edit DATABASE_URL, not this file.',
      `listen_addresses = ${sqlLiteral(listen)}`,
      `port = ${target.port}`,
      `unix_socket_directories = ${sqlLiteral(cluster.home)}`,
      '',
    ].join('\n'),
  );
  return path;
}

/** Runs initdb once (peer auth on the socket, scram over TCP) and hooks in our settings file. */
export async function initCluster(ctx: StackContext, cluster: Cluster, bins: PgBinaries): Promise<void> {
  if (existsSync(join(cluster.dataDir, 'PG_VERSION'))) return;
  await runAsOwnerChecked(
    'initdb',
    bins.initdb,
    ['-D', cluster.dataDir, '--auth-local=peer', '--auth-host=scram-sha-256', '--encoding=UTF8', '--no-locale'],
    {
      fix: `remove ${cluster.dataDir} if it is a half-created cluster, then rerun`,
    },
  );
  appendFileSync(
    join(cluster.dataDir, 'postgresql.conf'),
    `\n# Added by scripts/stack: listen address, port and socket dir come from DATABASE_URL.\ninclude_if_exists = ${sqlLiteral(CONF_INCLUDE)}\n`,
  );
  ctx.say(stepLine('postgres', 'initdb', cluster.displayDataDir));
}

/** Writes the settings file and starts the postmaster with `pg_ctl start -w`. */
export async function startCluster(cluster: Cluster, bins: PgBinaries, target: DbTarget): Promise<void> {
  await chownToOwner(writeStackConf(cluster, target));
  if (!cluster.relocated) {
    // pg_ctl opens the log as the postgres user, so the file must already be theirs.
    appendFileSync(cluster.logFile, '');
    await chownToOwner(cluster.logFile);
  }
  // pg_ctl detaches the postmaster into its own session and -w waits until it accepts connections.
  const result = await runAsOwner(bins.pgCtl, [
    'start',
    '-D',
    cluster.dataDir,
    '-l',
    cluster.logFile,
    '-w',
    '-t',
    String(START_TIMEOUT_S),
    '-s',
  ]);
  if (result.code !== 0) {
    const log = tailLines(readLogTail(cluster.logFile), 10);
    throw new StackError(
      `pg_ctl start failed (exit ${result.code}): ${result.stderr.trim()}${log ? `\n  last log lines:\n${indent(log)}` : ''}`,
      `read ${cluster.logFile}; if port ${target.port} is taken, change DATABASE_URL`,
    );
  }
}

/** Creates (or re-syncs) the role and database from DATABASE_URL; safe to repeat. */
export async function ensureRoleAndDatabase(
  cluster: Cluster,
  bins: PgBinaries,
  target: DbTarget,
  port: number,
): Promise<void> {
  if (!target.user || !target.password) {
    throw new StackError(
      `DATABASE_URL ${target.redacted} needs a user and a password`,
      'use postgres://user:password@127.0.0.1:55432/db',
    );
  }
  const role = sqlIdent(target.user);
  // SQL goes through stdin so the password never shows up in `ps`.
  const sql = [
    // Keep the statement (with its password) out of the server log even if it fails.
    "SET log_min_error_statement = 'panic';",
    `SELECT ${sqlLiteral(`CREATE ROLE ${role}`)} WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${sqlLiteral(target.user)})\\gexec`,
    // CREATEDB so tests can create <db>_test; the password always follows DATABASE_URL.
    `ALTER ROLE ${role} LOGIN CREATEDB PASSWORD ${sqlLiteral(target.password)};`,
    // The bench's grown-tables scenario checkpoints after its bulk load, so the load's writes are
    // not measured as the grown tables' cost (PostgreSQL 15's role; the local stack only).
    `GRANT pg_checkpoint TO ${role};`,
    `SELECT ${sqlLiteral(`CREATE DATABASE ${sqlIdent(target.database)} OWNER ${role}`)} WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = ${sqlLiteral(target.database)})\\gexec`,
    '',
  ].join('\n');
  await runAsOwnerChecked(
    `creating role ${target.user} and database ${target.database}`,
    bins.psql,
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', cluster.home, '-p', String(port), '-d', 'postgres'],
    {
      input: sql,
      fix: `read ${cluster.logFile}`,
    },
  );
}
