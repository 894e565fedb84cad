/**
 * PostgreSQL failover of the HA stack: fence the primary, promote the synchronous standby, point
 * the stable address at it, and (by default) build a new standby from it so the next failover is
 * possible. Each step is recorded in the topology file first, so an interrupted failover is
 * finished by running it again, never undone or doubled.
 *
 * No acknowledged commit is lost: the primary acknowledged a commit only once the standby had
 * flushed its WAL (synchronous_standby_names + synchronous_commit on), and promotion replays all
 * WAL the standby holds. The old primary never takes a write again: it is stopped before the
 * standby is promoted, and its data directory is moved aside with a FENCED marker and a
 * standby.signal (were it started by hand, it would come up read-only, as a standby of nothing).
 */
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StackError } from '../errors';
import { isProcessAlive } from '../processes';
import { chownToOwner, runAsOwnerChecked } from '../postgres-tools';
import { elapsed, formatReport, stepLine } from '../report';
import { waitFor } from '../wait';
import type { HaContext } from './context';
import { proxyUp } from './pg-proxy';
import { pgHa, type PgHa } from './postgres-ha';
import {
  inRecovery,
  nodeNamed,
  nodePid,
  readTopology,
  reloadNode,
  startNode,
  stopNode,
  writeNodeConf,
  writeTopology,
  type PgNode,
  type PgTopology,
} from './postgres-nodes';
import { buildStandby, enableSync, waitStreaming } from './postgres-standby';
import { haSecrets } from './secrets';

/** How many fenced data directories of former primaries are kept for inspection. */
const FENCED_KEPT = 2;

export interface FailoverOptions {
  /** Build a new synchronous standby from the new primary afterwards (default true). */
  rebuild?: boolean;
  /**
   * How the old primary is stopped: `fast` (clean; its last WAL still reaches the standby) or
   * `immediate` (as a crash would). Either is safe: nothing unreplicated was ever acknowledged.
   */
  stopMode?: 'fast' | 'immediate';
}

/** What a failover did. */
export interface FailoverResult {
  from: string;
  to: string;
  /** Where the old primary's data directory was moved (fenced), if it still existed. */
  fencedDir: string | undefined;
  /** Whether a new synchronous standby was built. */
  rebuilt: boolean;
  /** Milliseconds from the start until the stable address reached the new primary. */
  writesBackAfterMs: number;
}

/**
 * Fails the HA stack's PostgreSQL over to its standby. Callable from code (the chaos runner) and
 * from `scripts/stack/cli.ts failover --ha`.
 *
 * @throws StackError when there is no synchronous standby to promote (that could lose commits).
 */
export async function failover(ctx: HaContext, opts: FailoverOptions = {}): Promise<FailoverResult> {
  const started = Date.now();
  const pg = await pgHa(ctx);
  const recorded = readTopology(ctx);
  if (recorded === undefined) throw new StackError('the HA stack was never started', 'run stack:up --ha first');
  const topology = recorded.failover === null ? beginFailover(ctx, recorded) : recorded;
  const move = topology.failover;
  if (move === null) throw new StackError('internal: failover not recorded');
  const from = nodeNamed(pg.nodes, move.from);
  const to = nodeNamed(pg.nodes, move.to);
  ctx.say(stepLine('failover', 'begins', `${from.name} -> ${to.name} (epoch ${topology.epoch})`));
  await ensureStandbyRuns(pg, to, from);
  const fencedDir = await fence(ctx, pg, from, topology, opts.stopMode ?? 'fast');
  await promote(ctx, pg, to);
  const fenced = fencedDir === undefined ? topology.fenced : [...topology.fenced, fencedDir];
  const promoted: PgTopology = {
    primary: to.name,
    standby: null,
    synchronous: false,
    epoch: topology.epoch + 1,
    failover: null,
    fenced: pruneFenced(ctx, fenced),
  };
  writeTopology(ctx, promoted);
  ctx.say(formatReport(await proxyUp(ctx, to)));
  const writesBackAfterMs = Date.now() - started;
  ctx.say(
    stepLine('failover', 'writable', `${to.name} takes writes through the stable address after ${elapsed(started)}`),
  );

  const rebuild = opts.rebuild ?? true;
  if (rebuild) {
    await buildStandby(ctx, to, from, pg.bins, haSecrets(ctx));
    writeTopology(ctx, { ...promoted, standby: from.name });
    await waitStreaming(to, from, pg.bins, false);
    await enableSync(to, from, pg.bins);
    writeTopology(ctx, { ...promoted, standby: from.name, synchronous: true });
    ctx.say(stepLine('failover', 'rebuilt', `${from.name} is the new synchronous standby of ${to.name}`));
  } else {
    ctx.say(
      stepLine(
        'failover',
        'WARNING',
        `${to.name} runs without a standby: commits are on one disk until stack:up --ha builds one`,
      ),
    );
  }
  ctx.say(stepLine('failover', 'done', `in ${elapsed(started)}`));
  return { from: from.name, to: to.name, fencedDir, rebuilt: rebuild, writesBackAfterMs };
}

/** Records the failover about to run; refuses when the standby is not known to be synchronous. */
function beginFailover(ctx: HaContext, topology: PgTopology): PgTopology {
  if (topology.standby === null || !topology.synchronous) {
    throw new StackError(
      `${topology.primary} has no synchronous standby${topology.standby ? ` (${topology.standby} is not in sync yet)` : ''}: promoting could lose acknowledged commits`,
      'run stack:up --ha to build and sync the standby first',
    );
  }
  const next: PgTopology = { ...topology, failover: { from: topology.primary, to: topology.standby } };
  writeTopology(ctx, next);
  return next;
}

/**
 * Stops the old primary (fast, then immediate, then SIGKILL of the postmaster) and moves its data
 * directory aside with a FENCED marker and a standby.signal.
 *
 * @returns the fenced directory, or undefined when an earlier, interrupted run fenced it already.
 */
async function fence(
  ctx: HaContext,
  pg: PgHa,
  node: PgNode,
  topology: PgTopology,
  mode: 'fast' | 'immediate',
): Promise<string | undefined> {
  if (!existsSync(node.dataDir)) return undefined;
  await stopForGood(pg, node, mode);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(
    join(node.dataDir, 'FENCED'),
    `Fenced by scripts/stack/ha failover at ${new Date().toISOString()} (epoch ${topology.epoch}): ` +
      `${topology.failover?.to ?? '?'} was promoted. Never start this directory as a primary.\n`,
  );
  // A standby.signal without primary_conninfo: if anyone starts it, it stays read-only.
  writeFileSync(join(node.dataDir, 'standby.signal'), '');
  await chownToOwner(join(node.dataDir, 'standby.signal'));
  const fencedDir = `${node.dataDir}.fenced-${stamp}`;
  renameSync(node.dataDir, fencedDir);
  ctx.say(stepLine('failover', 'fenced', `${node.name} stopped (${mode}), data moved to ${fencedDir}`));
  return fencedDir;
}

async function stopForGood(pg: PgHa, node: PgNode, mode: 'fast' | 'immediate'): Promise<void> {
  const pid = nodePid(node);
  if (pid === undefined) return;
  for (const attempt of mode === 'fast' ? (['fast', 'immediate'] as const) : (['immediate'] as const)) {
    try {
      await stopNode(node, pg.bins, attempt);
      return;
    } catch {
      // A hung postmaster (SIGSTOP, stuck disk) ignores pg_ctl: escalate below.
    }
  }
  process.kill(pid, 'SIGKILL');
  await waitFor(`${node.name} (pid ${pid}) to exit after SIGKILL`, 10_000, async () =>
    isProcessAlive(pid) ? { done: false, reason: 'still alive' } : { done: true, value: undefined },
  );
}

/**
 * Makes sure the node to promote runs before anything is fenced (a stopped standby is started,
 * as a standby of `primary`, and replays what it has).
 */
async function ensureStandbyRuns(pg: PgHa, standby: PgNode, primary: PgNode): Promise<void> {
  if (!existsSync(standby.dataDir))
    throw new StackError(`the standby ${standby.name} has no data directory ${standby.dataDir}: nothing to promote`);
  if (nodePid(standby) !== undefined) return;
  await writeNodeConf(standby, { kind: 'standby', primary });
  await startNode(standby, pg.bins);
}

/** Promotes `node` and waits until it takes writes. */
async function promote(ctx: HaContext, pg: PgHa, node: PgNode): Promise<void> {
  if (await inRecovery(node, pg.bins)) {
    await runAsOwnerChecked(`pg_ctl promote of ${node.name}`, pg.bins.pgCtl, [
      'promote',
      '-D',
      node.dataDir,
      '-w',
      '-t',
      '60',
      '-s',
    ]);
  }
  await waitFor(`${node.name} to leave recovery`, 60_000, async () =>
    (await inRecovery(node, pg.bins)) ? { done: false, reason: 'still in recovery' } : { done: true, value: undefined },
  );
  // Its settings file still names the old primary; the next start must be as a primary.
  await writeNodeConf(node, { kind: 'primary', syncStandby: null });
  await reloadNode(node, pg.bins);
  ctx.say(stepLine('failover', 'promoted', `${node.name} is the primary`));
}

/** Keeps the newest {@link FENCED_KEPT} fenced directories; removes older ones. */
function pruneFenced(ctx: HaContext, fenced: readonly string[]): string[] {
  const keep = fenced.slice(-FENCED_KEPT);
  for (const dir of fenced.slice(0, -FENCED_KEPT)) {
    rmSync(dir, { recursive: true, force: true });
    ctx.say(stepLine('failover', 'removed', `old fenced data ${dir}`));
  }
  return keep;
}
