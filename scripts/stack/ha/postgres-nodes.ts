/**
 * The two PostgreSQL nodes of the HA stack: where each lives, which is the primary (the topology
 * file), the settings each gets for its role, and starting, stopping and querying one node.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { indent, tailLines } from '../commands';
import { StackError } from '../errors';
import { clusterPid, type Cluster } from '../postgres-cluster';
import { chownToOwner, runAsOwner, runAsOwnerChecked, type PgBinaries } from '../postgres-tools';
import { readLogTail } from '../processes';
import { displayPath } from '../report';
import type { HaContext } from './context';

export type PgNodeName = `pg-${number}`;

/** One node: its port, data directory and log, whichever role it has now. */
export interface PgNode {
  name: PgNodeName;
  port: number;
  /** The node's data directory, `<cluster home>/<name>`. */
  dataDir: string;
  logFile: string;
  /** The same node as the development stack's cluster helpers see it (initdb, pid, roles). */
  cluster: Cluster;
}

/** Which node is the primary, and where the failover stands. Kept in `<STACK_DIR>/postgres-topology.json`. */
export interface PgTopology {
  primary: PgNodeName;
  /** The streaming standby, or null while none is built (after a failover, before the rebuild). */
  standby: PgNodeName | null;
  /** True once the primary waits for the standby on every commit (synchronous_standby_names set). */
  synchronous: boolean;
  /** Counts failovers; written into each fence marker. */
  epoch: number;
  /** Set while a failover runs, so an interrupted one is finished rather than papered over. */
  failover: { from: PgNodeName; to: PgNodeName } | null;
  /** Data directories of former primaries, moved aside and fenced. */
  fenced: string[];
}

/** The file holding the topology (outside the cluster home, which may be relocated). */
export function topologyFile(ctx: HaContext): string {
  return join(ctx.layout.dir, 'postgres-topology.json');
}

/** The recorded topology, or undefined for a stack never started. */
export function readTopology(ctx: HaContext): PgTopology | undefined {
  const file = topologyFile(ctx);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as PgTopology;
}

/** Records the topology (whole-file write; the next step only runs after it returns). */
export function writeTopology(ctx: HaContext, topology: PgTopology): void {
  writeFileSync(topologyFile(ctx), `${JSON.stringify(topology, null, 2)}\n`);
}

/** Both nodes, in the home prepared by `prepareHome` (`<STACK_DIR>/postgres` or its relocated target). */
export function pgNodes(ctx: HaContext, home: Cluster): [PgNode, PgNode] {
  const node = (i: 0 | 1): PgNode => {
    const name: PgNodeName = `pg-${i + 1}`;
    const dataDir = join(home.home, name);
    const logFile = home.relocated ? join(home.home, `${name}.log`) : join(ctx.layout.logsDir, `${name}.log`);
    return {
      name,
      port: ctx.ports.postgresNodes[i],
      dataDir,
      logFile,
      cluster: {
        home: home.home,
        dataDir,
        displayDataDir: displayPath(join(ctx.layout.postgresDir, name)),
        logFile,
        relocated: home.relocated,
      },
    };
  };
  return [node(0), node(1)];
}

/** The node called `name`. */
export function nodeNamed(nodes: readonly PgNode[], name: PgNodeName): PgNode {
  const node = nodes.find((n) => n.name === name);
  if (node === undefined) throw new StackError(`the topology names an unknown node ${name}`);
  return node;
}

/** The node that is not `name`. */
export function otherNode(nodes: readonly PgNode[], name: PgNodeName): PgNode {
  const node = nodes.find((n) => n.name !== name);
  if (node === undefined) throw new StackError('the HA stack needs two PostgreSQL nodes');
  return node;
}

/** Replication slot of a standby on its primary (slot names allow only [a-z0-9_]). */
export function slotName(node: PgNode): string {
  return node.name.replace(/-/g, '_');
}

/** The libpq passfile the standby streams with (owned by the cluster's OS user, mode 0600). */
export function passfile(node: PgNode): string {
  return join(node.cluster.home, 'replication.pgpass');
}

function quote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** What a node is started as. */
export type NodeRole =
  { kind: 'primary'; syncStandby: PgNode | null } | { kind: 'standby'; primary: PgNode; syncStandby?: never };

/**
 * The node's settings file for `role`, rewritten before every start and every change of role.
 * Every node streams WAL (wal_level replica, wal_log_hints for a later pg_rewind); a primary with a
 * synchronous standby acknowledges a commit only once the standby has flushed it to disk.
 */
export async function writeNodeConf(node: PgNode, role: NodeRole): Promise<void> {
  const lines = [
    '# Written by scripts/stack/ha before every start of this node; the role comes from postgres-topology.json.',
    "listen_addresses = '127.0.0.1'",
    `port = ${node.port}`,
    `unix_socket_directories = ${quote(node.cluster.home)}`,
    `cluster_name = ${quote(node.name)}`,
    'wal_level = replica',
    'max_wal_senders = 8',
    'max_replication_slots = 8',
    'wal_log_hints = on',
    'hot_standby = on',
    // "on" waits for the standby's flush: an acknowledged commit is on two disks.
    'synchronous_commit = on',
  ];
  if (role.kind === 'primary') {
    const names = role.syncStandby ? `"${role.syncStandby.name}"` : '';
    lines.push(`synchronous_standby_names = ${quote(names)}`);
  } else {
    const conninfo = `host=127.0.0.1 port=${role.primary.port} user=replicator passfile=${passfile(node)} application_name=${node.name}`;
    lines.push(`primary_conninfo = ${quote(conninfo)}`, `primary_slot_name = ${quote(slotName(node))}`);
  }
  const file = join(node.dataDir, 'checkout-saga.conf');
  writeFileSync(file, `${lines.join('\n')}\n`);
  await chownToOwner(file);
  const signal = join(node.dataDir, 'standby.signal');
  if (role.kind === 'standby' && !existsSync(signal)) {
    writeFileSync(signal, '');
    await chownToOwner(signal);
  }
  if (role.kind === 'primary' && existsSync(signal)) {
    throw new StackError(
      `${node.name} is recorded as the primary but its data directory holds standby.signal`,
      'an interrupted failover? run `npx tsx scripts/stack/cli.ts failover --ha` to finish it',
    );
  }
}

/** The postmaster's pid when the node runs. */
export function nodePid(node: PgNode): number | undefined {
  return clusterPid(node.cluster);
}

/** `pg_ctl start -w`; the settings file must have been written for the node's role first. */
export async function startNode(node: PgNode, bins: PgBinaries): Promise<void> {
  if (!node.cluster.relocated) {
    appendFileSync(node.logFile, '');
    await chownToOwner(node.logFile);
  }
  const result = await runAsOwner(bins.pgCtl, [
    'start',
    '-D',
    node.dataDir,
    '-l',
    node.logFile,
    '-w',
    '-t',
    '120',
    '-s',
  ]);
  if (result.code !== 0) {
    const log = tailLines(readLogTail(node.logFile), 10);
    throw new StackError(
      `pg_ctl start of ${node.name} failed (exit ${result.code}): ${result.stderr.trim()}${log ? `\n  last log lines:\n${indent(log)}` : ''}`,
      `read ${node.logFile}`,
    );
  }
}

/** `pg_ctl stop` in `mode` (fast: clean; immediate: a crash, recovery at next start). */
export async function stopNode(node: PgNode, bins: PgBinaries, mode: 'fast' | 'immediate'): Promise<void> {
  await runAsOwnerChecked(`pg_ctl stop -m ${mode} of ${node.name}`, bins.pgCtl, [
    'stop',
    '-D',
    node.dataDir,
    '-m',
    mode,
    '-w',
    '-t',
    '60',
    '-s',
  ]);
}

/** `pg_ctl reload`: applies a rewritten settings file (synchronous_standby_names needs no restart). */
export async function reloadNode(node: PgNode, bins: PgBinaries): Promise<void> {
  await runAsOwnerChecked(`pg_ctl reload of ${node.name}`, bins.pgCtl, ['reload', '-D', node.dataDir, '-s']);
}

/**
 * Runs SQL on a node as the superuser over its Unix socket (peer authentication), statement text
 * through stdin so passwords never reach argv.
 *
 * @returns the unaligned, tuples-only output, trimmed.
 */
export async function psqlOn(node: PgNode, bins: PgBinaries, sql: string): Promise<string> {
  const result = await runAsOwnerChecked(
    `SQL on ${node.name}`,
    bins.psql,
    [
      '-X',
      '-q',
      '-A',
      '-t',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      node.cluster.home,
      '-p',
      String(node.port),
      '-d',
      'postgres',
    ],
    { input: sql, fix: `read ${node.logFile}` },
  );
  return result.stdout.trim();
}

/** True when the node runs in recovery (a standby), false for a primary. */
export async function inRecovery(node: PgNode, bins: PgBinaries): Promise<boolean> {
  return (await psqlOn(node, bins, 'SELECT pg_is_in_recovery();')) === 't';
}
