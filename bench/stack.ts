import { grantPrincipals } from '../access/postgres-grants';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NatsConnection } from 'nats';
import type { Config } from '../lib/config';
import type { Db } from '../lib/db';
import { migrate } from '../lib/migrate';
import { declareStreams } from '../lib/nats';
import { seedCatalog } from '../lib/seed';
import { STREAMS } from '../events/streams';
import { haContext, haStackDown, haStackUp } from '../scripts/stack/ha';
import { ensureNatsCli, formatReport, stackDown, stackUp, temporalBinary } from '../scripts/stack/index';
import { BENCH_HA_PORTS } from './env';

const exec = promisify(execFile);

/** Stock per catalogue SKU in the bench database, so no run ever ends a saga OUT_OF_STOCK. */
const BENCH_STOCK = 100_000_000;

/**
 * Brings the bench's isolated stack up with the project's stack code (natscli included, for
 * `nats bench`), printing progress lines prefixed with `stack`.
 *
 * @example
 * await benchStackUp(config, console.log);
 */
export async function benchStackUp(config: Config, say: (line: string) => void, { ha = false } = {}): Promise<void> {
  const indented = (line: string): void => say(`  ${line}`);
  if (!ha) {
    await stackUp(config, { natscli: true, say: indented });
    return;
  }
  await haStackUp(config, { ports: BENCH_HA_PORTS, say: indented });
  // What the dev stack brings and the HA stack does not: natscli for `nats bench`, and the
  // Temporal CLI that terminates a previous run's leftover workflows.
  const ctx = haContext(config, indented, BENCH_HA_PORTS);
  indented(formatReport(await ensureNatsCli(ctx)));
  await temporalBinary(ctx);
}

/** Stops what `benchStackUp` started (the dev stack is never touched: other STACK_DIR, other ports). */
export async function benchStackDown(config: Config, say: (line: string) => void, { ha = false } = {}): Promise<void> {
  const indented = (line: string): void => say(`  ${line}`);
  if (ha) await haStackDown(config, { ports: BENCH_HA_PORTS, say: indented });
  else await stackDown(config, { say: indented });
}

/**
 * Migrates, seeds, gives the catalogue ample stock and empties every table a scenario writes,
 * so each run starts from the same state.
 */
export async function prepareDatabase(db: Db): Promise<void> {
  await migrate(db);
  await grantPrincipals(db);
  await seedCatalog(db);
  await db.query('UPDATE products SET available = $1, reserved = 0, shipped = 0', [BENCH_STOCK]);
  await truncateRunTables(db);
}

/** Empties every table except the catalogue and the migration ledger (the bench database is its own). */
export async function truncateRunTables(db: Db): Promise<void> {
  const { rows } = await db.query<{ tablename: string }>(
    `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('products', 'schema_migrations')`,
  );
  if (rows.length === 0) return;
  await db.query(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(', ')} RESTART IDENTITY`);
}

/** Declares the product's streams, then drops their messages and every durable consumer on them. */
export async function resetStreams(nc: NatsConnection, config: Config): Promise<void> {
  await declareStreams(nc, config.nats);
  const jsm = await nc.jetstreamManager();
  for (const stream of STREAMS) {
    for await (const consumer of jsm.consumers.list(stream.name))
      await jsm.consumers.delete(stream.name, consumer.name);
    await jsm.streams.purge(stream.name);
  }
}

/**
 * Terminates every workflow still running on the bench's Temporal server (left by an interrupted
 * run, or by the API scenario, which runs without a worker) with batch operations, and waits until
 * none is left. The dev server runs one batch at a time, so a busy answer is retried.
 *
 * @throws Error when workflows are still running after 120 s.
 */
export async function terminateRunningWorkflows(config: Config): Promise<void> {
  const temporal = join(config.stack.binDir, 'temporal');
  const common = [
    '--address',
    config.temporal.address,
    '--namespace',
    config.temporal.namespace,
    '--query',
    'ExecutionStatus="Running"',
  ];
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const { stdout } = await exec(temporal, ['workflow', 'count', ...common], { timeout: 30_000 });
    if (/Total:\s*0\b/.test(stdout)) return;
    try {
      await exec(temporal, ['workflow', 'terminate', ...common, '--reason', 'bench reset', '--yes'], {
        timeout: 60_000,
      });
    } catch (err) {
      // One batch at a time on the dev server: the previous one is still terminating.
      if (!/Max concurrent batch operations/i.test(String((err as { stderr?: unknown }).stderr ?? err))) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  throw new Error('workflows still running on the bench Temporal server after 120 s of batch terminations');
}
