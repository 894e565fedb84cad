import { existsSync } from 'node:fs';
import pg from 'pg';
import { assertPortsFree, formatHostPort, isLoopback } from './addresses';
import { isRoot, run } from './commands';
import type { StackContext } from './context';
import { StackError } from './errors';
import {
  clusterPid,
  clusterPort,
  ensureRoleAndDatabase,
  initCluster,
  locateCluster,
  prepareHome,
  startCluster,
  type Cluster,
} from './postgres-cluster';
import { ensurePrincipalRoles } from './postgres-roles';
import { findBinaries, PG_OS_USER, requireBinaries, runAsOwnerChecked } from './postgres-tools';
import { dbTarget, type DbTarget } from './postgres-url';
import { stepLine } from './report';
import type { ComponentReport } from './types';
import { waitFor } from './wait';

const READY_TIMEOUT_MS = 60_000;
const PROBE_TIMEOUT_MS = 3_000;

/** Result of trying DATABASE_URL: usable, nobody listening, or a server that said no. */
type PgProbe = { kind: 'ok' } | { kind: 'down'; reason: string } | { kind: 'rejected'; code: string; reason: string };

// SQLSTATE 57P03 is "the database system is starting up": not ready yet, not a refusal.
const STARTING_UP = '57P03';

async function probe(url: string): Promise<PgProbe> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  // A dropped connection is reported by the failing query below; without a listener it would crash us.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { kind: 'ok' };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const reason = err instanceof Error ? err.message || String(code) : String(err);
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && code !== STARTING_UP)
      return { kind: 'rejected', code, reason };
    // pg reports its own connect timeout as "Connection terminated ..."; say what it means.
    if (code === undefined && /timeout|terminated/i.test(reason))
      return { kind: 'down', reason: `no answer within ${PROBE_TIMEOUT_MS / 1000}s (${reason})` };
    return { kind: 'down', reason };
  } finally {
    await client.end();
  }
}

async function waitUntilUsable(target: DbTarget, cluster: Cluster): Promise<void> {
  await waitFor(
    `PostgreSQL at ${target.redacted}`,
    READY_TIMEOUT_MS,
    async () => {
      const result = await probe(target.url);
      if (result.kind === 'ok') return { done: true, value: undefined };
      if (result.kind === 'rejected') {
        throw new StackError(
          `the project cluster refused ${target.redacted}: ${result.reason}`,
          `read ${cluster.logFile}`,
        );
      }
      return { done: false, reason: result.reason };
    },
    { fix: `read ${cluster.logFile}` },
  );
}

function report(target: DbTarget, state: ComponentReport['state'], cluster: Cluster, pid?: number): ComponentReport {
  const details = [`db ${target.database}`];
  if (state !== 'external' && existsSync(cluster.dataDir))
    details.push(`data ${cluster.displayDataDir}${cluster.relocated ? ` -> ${cluster.dataDir}` : ''}`);
  return { name: 'postgres', state, address: formatHostPort(target), pid, details };
}

/**
 * Makes DATABASE_URL usable: uses a reachable server as is, otherwise starts (initialising on
 * first use) the project cluster for a loopback URL and creates the role and database.
 *
 * @throws StackError when the URL is remote and unreachable, credentials are refused by a server
 *   that is not ours, PostgreSQL cannot be installed, or the cluster does not become ready in 60 s.
 */
export async function postgresUp(ctx: StackContext): Promise<ComponentReport> {
  const target = dbTarget(ctx.config.database.url);
  let cluster = locateCluster(ctx.layout);
  const first = await probe(target.url);
  const runningPid = clusterPid(cluster);
  if (first.kind === 'ok') {
    if (runningPid === undefined) return report(target, 'external', cluster, runningPid);
    await provisionRoles(ctx, cluster, target);
    return report(target, 'running', cluster, runningPid);
  }
  if (first.kind === 'rejected') {
    if (runningPid === undefined) {
      throw new StackError(
        `${target.redacted} is reachable but refused the connection: ${first.reason}`,
        'fix the credentials in DATABASE_URL, or stop the server on that port so stack:up can run its own',
      );
    }
    // Our cluster but DATABASE_URL's role, password or database differ: the URL is the source of truth.
    await ensureRoleAndDatabase(
      cluster,
      await requireBinaries(ctx, cluster.dataDir),
      target,
      clusterPort(cluster) ?? target.port,
    );
    await waitUntilUsable(target, cluster);
    await provisionRoles(ctx, cluster, target);
    ctx.say(
      stepLine(
        'postgres',
        'synced',
        `role ${target.user} (password, CREATEDB) and database ${target.database} to DATABASE_URL (was: ${first.reason})`,
      ),
    );
    return report(target, 'running', cluster, runningPid);
  }
  if (!isLoopback(target.host)) {
    throw new StackError(
      `cannot reach ${target.redacted}: ${first.reason}`,
      'start that server or fix DATABASE_URL; stack:up only starts PostgreSQL for a 127.0.0.1/localhost URL',
    );
  }
  if (runningPid !== undefined) {
    const port = clusterPort(cluster);
    if (port !== undefined && port !== target.port) {
      throw new StackError(
        `the project cluster runs on port ${port} but DATABASE_URL uses port ${target.port}`,
        'run stack:down then stack:up to restart it on the new port',
      );
    }
    // Ours and still starting up: wait for it rather than starting a second one.
    await waitUntilUsable(target, cluster);
    await provisionRoles(ctx, cluster, target);
    return report(target, 'running', cluster, runningPid);
  }
  await assertPortsFree([{ target, setting: 'DATABASE_URL' }]);
  const bins = await requireBinaries(ctx, cluster.dataDir);
  if (isRoot() && (await run('id', ['-u', PG_OS_USER])).code !== 0) {
    throw new StackError(
      `PostgreSQL refuses to run as root and there is no ${PG_OS_USER} user`,
      `create it: useradd --system --home-dir /var/lib/postgresql --shell /bin/bash ${PG_OS_USER}`,
    );
  }
  cluster = await prepareHome(ctx, target.port);
  await initCluster(ctx, cluster, bins);
  await startCluster(cluster, bins, target);
  await ensureRoleAndDatabase(cluster, bins, target, target.port);
  await waitUntilUsable(target, cluster);
  await provisionRoles(ctx, cluster, target);
  return report(target, 'started', cluster, clusterPid(cluster));
}

/** The principals' roles and lock grants on our own cluster (postgres-roles.ts). */
async function provisionRoles(ctx: StackContext, cluster: Cluster, target: DbTarget): Promise<void> {
  const bins = await requireBinaries(ctx, cluster.dataDir);
  await ensurePrincipalRoles(ctx, cluster, bins, target, clusterPort(cluster) ?? target.port);
}

/** Stops the project cluster (`pg_ctl stop -m fast`) if we run it; data stays. Never touches an external server. */
export async function postgresDown(ctx: StackContext): Promise<ComponentReport> {
  const target = dbTarget(ctx.config.database.url);
  const cluster = locateCluster(ctx.layout);
  const pid = clusterPid(cluster);
  if (pid !== undefined) {
    const bins = await findBinaries(cluster.dataDir);
    if (!bins)
      throw new StackError(
        `the project cluster (pid ${pid}) runs but pg_ctl is not found`,
        `stop it by hand: kill -INT ${pid}`,
      );
    await runAsOwnerChecked(
      'pg_ctl stop',
      bins.pgCtl,
      ['stop', '-D', cluster.dataDir, '-m', 'fast', '-w', '-t', '60', '-s'],
      { fix: `read ${cluster.logFile}` },
    );
    return report(target, 'stopped', cluster, pid);
  }
  const state = (await probe(target.url)).kind === 'down' ? 'not running' : 'external';
  return report(target, state, cluster);
}

/** Reports whether the project cluster runs, an external server answers, or nothing does. */
export async function postgresStatus(ctx: StackContext): Promise<ComponentReport> {
  const target = dbTarget(ctx.config.database.url);
  const cluster = locateCluster(ctx.layout);
  const pid = clusterPid(cluster);
  if (pid !== undefined) {
    const port = clusterPort(cluster);
    if (isLoopback(target.host) && (port === undefined || port === target.port))
      return report(target, 'running', cluster, pid);
    // Ours runs, but DATABASE_URL now points somewhere else: show where ours really is.
    const ours = { ...report(target, 'running', cluster, pid), address: `port ${port ?? '?'}` };
    ours.details?.push(`DATABASE_URL points at ${formatHostPort(target)} instead`);
    return ours;
  }
  const state = (await probe(target.url)).kind === 'down' ? 'not running' : 'external';
  return report(target, state, cluster);
}
