/**
 * PostgreSQL of the HA stack: a primary, a synchronous standby and the stable address in front,
 * brought up from whatever state the topology file records (fresh, running, after a failover).
 */
import { existsSync } from 'node:fs';
import { isRoot, run } from '../commands';
import { StackError } from '../errors';
import { ensureRoleAndDatabase, initCluster, locateCluster, prepareHome, type Cluster } from '../postgres-cluster';
import { ensurePrincipalRoles } from '../postgres-roles';
import { findBinaries, PG_OS_USER, requireBinaries, type PgBinaries } from '../postgres-tools';
import { dbTarget } from '../postgres-url';
import type { ComponentReport } from '../types';
import type { HaContext } from './context';
import { proxyDown, proxyStatus, proxyUp } from './pg-proxy';
import {
  inRecovery,
  nodeNamed,
  nodePid,
  otherNode,
  pgNodes,
  readTopology,
  startNode,
  stopNode,
  writeNodeConf,
  writeTopology,
  type PgNode,
  type PgTopology,
} from './postgres-nodes';
import { buildStandby, describeReplication, enableSync, ensureInfraRoles, waitStreaming } from './postgres-standby';
import { haSecrets } from './secrets';

/** The nodes, binaries and topology every PostgreSQL step of the HA stack works from. */
export interface PgHa {
  nodes: [PgNode, PgNode];
  bins: PgBinaries;
  home: Cluster;
}

/** Prepares the cluster home (relocating it when the postgres user cannot reach STACK_DIR) and finds the binaries. */
export async function pgHa(ctx: HaContext): Promise<PgHa> {
  if (isRoot() && (await run('id', ['-u', PG_OS_USER])).code !== 0) {
    throw new StackError(
      `PostgreSQL refuses to run as root and there is no ${PG_OS_USER} user`,
      `create it: useradd --system --home-dir /var/lib/postgresql --shell /bin/bash ${PG_OS_USER}`,
    );
  }
  const home = await prepareHome(ctx, Math.max(...ctx.ports.postgresNodes));
  const nodes = pgNodes(ctx, home);
  return { nodes, bins: await requireBinaries(ctx, anyDataDir(nodes)), home };
}

/** A node's data directory that exists (its PG_VERSION picks the binaries), else the first node's. */
function anyDataDir(nodes: readonly PgNode[]): string {
  return nodes.find((n) => existsSync(n.dataDir))?.dataDir ?? nodes[0]?.dataDir ?? '';
}

function nodeReport(node: PgNode, state: ComponentReport['state'], role: string): ComponentReport {
  return {
    name: node.name,
    state,
    address: `127.0.0.1:${node.port}`,
    pid: nodePid(node),
    details: [role, `data ${node.cluster.displayDataDir}`],
  };
}

/** Starts a node for `role` unless it already runs; reports `started` or `running`. */
async function ensureRunning(
  node: PgNode,
  pg: PgHa,
  role: Parameters<typeof writeNodeConf>[1],
): Promise<ComponentReport['state']> {
  if (nodePid(node) !== undefined) return 'running';
  await writeNodeConf(node, role);
  await startNode(node, pg.bins);
  return 'started';
}

/** A fresh stack: initdb the first primary and record the topology before anything else. */
async function initialTopology(ctx: HaContext, pg: PgHa): Promise<PgTopology> {
  const [first, second] = pg.nodes;
  if (existsSync(first.dataDir) || existsSync(second.dataDir)) {
    throw new StackError(
      `PostgreSQL data exists in ${ctx.layout.postgresDir} but ${ctx.layout.dir}/postgres-topology.json is missing`,
      `stack:down --ha, then remove ${ctx.layout.dir} to start afresh`,
    );
  }
  await initCluster(ctx, first.cluster, pg.bins);
  const topology: PgTopology = {
    primary: first.name,
    standby: null,
    synchronous: false,
    epoch: 1,
    failover: null,
    fenced: [],
  };
  writeTopology(ctx, topology);
  return topology;
}

/**
 * Brings PostgreSQL up in the recorded topology: the primary, then the standby (built from the
 * primary when there is none), synchronous replication, the roles, then the stable address.
 *
 * @throws StackError when a failover was interrupted (rerun it) or a node fails to start.
 */
export async function postgresHaUp(ctx: HaContext): Promise<ComponentReport[]> {
  const pg = await pgHa(ctx);
  const secrets = haSecrets(ctx);
  const topology = readTopology(ctx) ?? (await initialTopology(ctx, pg));
  if (topology.failover !== null) {
    throw new StackError(
      `a failover from ${topology.failover.from} to ${topology.failover.to} was interrupted`,
      'finish it: npx tsx scripts/stack/cli.ts failover --ha',
    );
  }
  const primary = nodeNamed(pg.nodes, topology.primary);
  if (!existsSync(primary.dataDir))
    throw new StackError(`the primary ${primary.name} has no data directory ${primary.dataDir}`);
  const standby = topology.standby === null ? undefined : nodeNamed(pg.nodes, topology.standby);
  const syncStandby = topology.synchronous && standby && existsSync(standby.dataDir) ? standby : null;
  const primaryState = await ensureRunning(primary, pg, { kind: 'primary', syncStandby });
  if (await inRecovery(primary, pg.bins))
    throw new StackError(`${primary.name} is recorded as the primary but runs in recovery`);
  const standbyReport = await ensureStandby(ctx, pg, topology, primary);
  await ensureInfraRoles(primary, pg.bins, secrets);
  const target = dbTarget(ctx.config.database.url);
  await ensureRoleAndDatabase(primary.cluster, pg.bins, target, primary.port);
  // The processes' own roles and lock grants; they reach the standby through replication.
  await ensurePrincipalRoles(ctx, primary.cluster, pg.bins, target, primary.port);
  const reports = [
    nodeReport(primary, primaryState, 'primary, synchronous_commit on'),
    standbyReport,
    await proxyUp(ctx, primary),
  ];
  return reports;
}

/**
 * Starts the recorded standby, or builds one from the primary when there is none (fresh stack,
 * or after a failover), then makes it the synchronous standby.
 */
async function ensureStandby(
  ctx: HaContext,
  pg: PgHa,
  topology: PgTopology,
  primary: PgNode,
): Promise<ComponentReport> {
  const standby = topology.standby === null ? otherNode(pg.nodes, primary.name) : nodeNamed(pg.nodes, topology.standby);
  let state: ComponentReport['state'];
  if (topology.standby !== null && existsSync(standby.dataDir)) {
    state = await ensureRunning(standby, pg, { kind: 'standby', primary });
  } else {
    await buildStandby(ctx, primary, standby, pg.bins, haSecrets(ctx));
    writeTopology(ctx, { ...topology, standby: standby.name, synchronous: false });
    state = 'started';
  }
  await waitStreaming(primary, standby, pg.bins, false);
  const current = readTopology(ctx) ?? topology;
  if (!current.synchronous) {
    await enableSync(primary, standby, pg.bins);
    writeTopology(ctx, { ...current, standby: standby.name, synchronous: true });
  }
  return nodeReport(standby, state, `synchronous standby of ${primary.name}`);
}

/**
 * Stops the proxy, then the primary (a fast shutdown streams its last WAL to the standby), then
 * the standby. Data and the topology stay.
 */
export async function postgresHaDown(ctx: HaContext): Promise<ComponentReport[]> {
  const reports = [await proxyDown(ctx)];
  const nodes = pgNodes(ctx, locateCluster(ctx.layout));
  const bins = await findBinaries(anyDataDir(nodes));
  const topology = readTopology(ctx);
  const order = topology?.primary === 'pg-2' ? [nodes[1], nodes[0]] : nodes;
  for (const node of order) {
    const pid = nodePid(node);
    if (pid !== undefined) {
      if (!bins) throw new StackError(`${node.name} (pid ${pid}) runs but pg_ctl is not found`, `kill -INT ${pid}`);
      await stopNode(node, bins, 'fast');
    }
    reports.push(nodeReport(node, pid === undefined ? 'not running' : 'stopped', roleOf(topology, node)));
  }
  return reports;
}

function roleOf(topology: PgTopology | undefined, node: PgNode): string {
  if (topology?.primary === node.name) return 'primary';
  if (topology?.standby === node.name) return topology.synchronous ? 'synchronous standby' : 'standby';
  return 'no role';
}

/** One line per node (with its replication state as the primary sees it) and one for the proxy. */
export async function postgresHaStatus(ctx: HaContext): Promise<ComponentReport[]> {
  const nodes = pgNodes(ctx, locateCluster(ctx.layout));
  const bins = await findBinaries(anyDataDir(nodes));
  const topology = readTopology(ctx);
  const reports: ComponentReport[] = [];
  for (const node of nodes) {
    const running = nodePid(node) !== undefined;
    const line = nodeReport(node, running ? 'running' : 'not running', roleOf(topology, node));
    if (running && bins && topology?.primary === node.name && topology.standby) {
      const standby = nodeNamed(nodes, topology.standby);
      line.details?.push(`${standby.name}: ${await describeReplication(node, standby, bins)}`);
    }
    reports.push(line);
  }
  reports.push(proxyStatus(ctx));
  return reports;
}
