/**
 * The synchronous standby: built with pg_basebackup from the primary over a replication slot,
 * streaming WAL, and named in the primary's synchronous_standby_names so that no commit is
 * acknowledged before it is on the standby's disk too.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StackError } from '../errors';
import { chownToOwner, runAsOwnerChecked, type PgBinaries } from '../postgres-tools';
import { stepLine } from '../report';
import { waitFor } from '../wait';
import type { HaContext } from './context';
import { passfile, psqlOn, reloadNode, slotName, startNode, writeNodeConf, type PgNode } from './postgres-nodes';
import type { HaSecrets } from './secrets';

const STREAMING_TIMEOUT_MS = 60_000;

function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Creates or updates the stack's infrastructure roles on the primary: `replicator` (streams WAL)
 * and `temporal` (owns Temporal's databases). The standby gets them by replication.
 */
export async function ensureInfraRoles(primary: PgNode, bins: PgBinaries, secrets: HaSecrets): Promise<void> {
  const role = (name: string, attributes: string, password: string): string[] => [
    `SELECT 'CREATE ROLE ${name}' WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '${name}')\\gexec`,
    `ALTER ROLE ${name} LOGIN ${attributes} PASSWORD ${literal(password)};`,
  ];
  await psqlOn(
    primary,
    bins,
    [
      // Keep the statements (with their passwords) out of the server log even if one fails.
      "SET log_min_error_statement = 'panic';",
      ...role('replicator', 'REPLICATION', secrets.replicator),
      ...role('temporal', 'CREATEDB', secrets.temporal),
      '',
    ].join('\n'),
  );
}

/** Writes the libpq passfile both nodes stream with (`*` for the port: either node may be the primary). */
export async function writePassfile(node: PgNode, secrets: HaSecrets): Promise<void> {
  const file = passfile(node);
  writeFileSync(file, `127.0.0.1:*:replication:replicator:${secrets.replicator}\n`, { mode: 0o600 });
  await chownToOwner(file);
}

/**
 * Builds `standby` from `primary`: a fresh replication slot, pg_basebackup with the WAL streamed
 * alongside, standby settings, start. The standby's data directory must not exist.
 */
export async function buildStandby(
  ctx: HaContext,
  primary: PgNode,
  standby: PgNode,
  bins: PgBinaries,
  secrets: HaSecrets,
): Promise<void> {
  if (existsSync(standby.dataDir))
    throw new StackError(
      `${standby.name}'s data directory ${standby.dataDir} already exists`,
      'a standby is built into an empty place; move it aside if it is not needed',
    );
  // The primary has no synchronous standby while one is built, so these commits do not wait.
  await ensureInfraRoles(primary, bins, secrets);
  await writePassfile(standby, secrets);
  const slot = slotName(standby);
  // A slot left by an earlier standby of this name would hold WAL from the wrong point.
  await psqlOn(
    primary,
    bins,
    `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ${literal(slot)};`,
  );
  ctx.say(stepLine(standby.name, 'cloning', `pg_basebackup from ${primary.name} (slot ${slot})`));
  const conninfo = `host=127.0.0.1 port=${primary.port} user=replicator passfile=${passfile(standby)} application_name=${standby.name}`;
  await runAsOwnerChecked(
    `pg_basebackup of ${standby.name} from ${primary.name}`,
    join(bins.dir, 'pg_basebackup'),
    ['-d', conninfo, '-D', standby.dataDir, '-X', 'stream', '-c', 'fast', '-C', '-S', slot, '--no-password'],
    { fix: `read ${primary.logFile}` },
  );
  await writeNodeConf(standby, { kind: 'standby', primary });
  await startNode(standby, bins);
}

/** Replication state of `standby` as its primary sees it: `streaming`/`sync`, or nothing yet. */
async function replicationState(
  primary: PgNode,
  standby: PgNode,
  bins: PgBinaries,
): Promise<{ state: string; syncState: string } | undefined> {
  const row = await psqlOn(
    primary,
    bins,
    `SELECT state || '|' || sync_state FROM pg_stat_replication WHERE application_name = ${literal(standby.name)};`,
  );
  const [state, syncState] = row.split('\n')[0]?.split('|') ?? [];
  return state && syncState ? { state, syncState } : undefined;
}

/** Waits until `standby` streams from `primary` (and is the synchronous one, when `sync`). */
export async function waitStreaming(primary: PgNode, standby: PgNode, bins: PgBinaries, sync: boolean): Promise<void> {
  await waitFor(
    `${standby.name} streaming from ${primary.name}${sync ? ' as synchronous standby' : ''}`,
    STREAMING_TIMEOUT_MS,
    async () => {
      const seen = await replicationState(primary, standby, bins);
      const ok = seen?.state === 'streaming' && (!sync || seen.syncState === 'sync');
      return ok
        ? { done: true, value: undefined }
        : { done: false, reason: seen ? `state ${seen.state}, ${seen.syncState}` : 'not connected' };
    },
    { fix: `read ${standby.logFile} and ${primary.logFile}` },
  );
}

/** Names `standby` in the primary's synchronous_standby_names (reload) and waits until it is in sync. */
export async function enableSync(primary: PgNode, standby: PgNode, bins: PgBinaries): Promise<void> {
  await writeNodeConf(primary, { kind: 'primary', syncStandby: standby });
  await reloadNode(primary, bins);
  await waitStreaming(primary, standby, bins, true);
}

/** `sync`, `async`, `streaming` etc. of the standby as the primary sees it, for status lines. */
export async function describeReplication(primary: PgNode, standby: PgNode, bins: PgBinaries): Promise<string> {
  const seen = await replicationState(primary, standby, bins);
  return seen ? `${seen.state}, ${seen.syncState}` : 'not connected';
}
