import { existsSync, lstatSync, readdirSync, realpathSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../lib/config';
import { createDb, type Db } from '../../lib/db';
import { migrate } from '../../lib/migrate';
import { seedCatalog } from '../../lib/seed';
import { sleep } from '../../lib/wait';
import { stackDown, stackUp, type ComponentName, type Say } from '../stack/index';
import { isolatedStackEnv } from '../stack/isolated';
import { stackLayout } from '../stack/layout';
import { locateCluster } from '../stack/postgres-cluster';
import { findBinaries, runAsOwnerChecked } from '../stack/postgres-tools';
import { isProcessAlive, ownedPid, stopProcess } from '../stack/processes';
import type { ChaosArgs } from './args';
import { SCARCE_SKU, scarceStock } from './plan';

/** Bearer token of the chaos API (the isolated stack never uses the development token). */
export const CHAOS_TOKEN = 'chaos-token-0123456789abcdef';

/** Marks a STACK_DIR as the chaos runner's, so it may wipe it at the start of a run. */
const MARKER = '.chaos-stack';

/**
 * The environment of every process of the isolated stack: its own ports, STACK_DIR, token, task
 * queue and a short 3-D Secure timeout. Nothing points at the default stack.
 *
 * @example
 * const env = chaosEnv(args); // { DATABASE_URL: 'postgres://…@127.0.0.1:55452/checkout', … }
 */
export function chaosEnv(args: ChaosArgs): Record<string, string> {
  return {
    ...isolatedStackEnv(args.ports, args.stackDir),
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: 'checkout-chaos',
    API_TOKENS: CHAOS_TOKEN,
    PAYMENT_CONFIRMATION_TIMEOUT: args.confirmTimeout,
    SHUTDOWN_GRACE_PERIOD: '10s',
  };
}

/**
 * The runner's own configuration: the inherited environment (PATH, cache directories) with every
 * address replaced by the isolated stack's.
 */
export function chaosConfig(env: Record<string, string>, inherited: NodeJS.ProcessEnv): Config {
  return loadConfig({ ...inherited, ...env });
}

/** Removes a stack directory left by an earlier run (after stopping what it runs), if it is ours. */
export async function wipeStack(config: Config, say: Say): Promise<void> {
  const dir = config.stack.dir;
  if (!existsSync(dir)) return;
  if (!existsSync(join(dir, MARKER)) && readdirSync(dir).length > 0) {
    throw new Error(
      `${dir} exists and was not created by the chaos runner; pass another --stack-dir or remove it yourself`,
    );
  }
  await stackDown(config, { say });
  const pgHome = join(dir, 'postgres');
  // A relocated cluster lives behind a symlink; its real home must go too or initdb is skipped.
  if (lstatSync(pgHome, { throwIfNoEntry: false })?.isSymbolicLink() && existsSync(pgHome))
    rmSync(realpathSync(pgHome), { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
}

/** Starts the isolated stack from an empty STACK_DIR. */
export async function freshStack(config: Config, say: Say): Promise<void> {
  await wipeStack(config, say);
  mkdirSync(config.stack.dir, { recursive: true });
  writeFileSync(join(config.stack.dir, MARKER), 'created by scripts/chaos; wiped at the start of every chaos run\n');
  await stackUp(config, { say });
}

/** What the database held before the first order: the stock per SKU. */
export type InitialStock = Map<string, number>;

/**
 * The db:setup steps (migrate, seed the catalog) plus the scarce SKU; returns the initial stock.
 *
 * @example
 * const initial = await setupDatabase(db, 200);
 */
export async function setupDatabase(db: Db, orders: number): Promise<InitialStock> {
  await migrate(db);
  await seedCatalog(db);
  await db.query(
    `INSERT INTO products (sku, name, price_cents, available) VALUES ($1, 'Chaos scarce item', 1999, $2) ON CONFLICT (sku) DO NOTHING`,
    [SCARCE_SKU, scarceStock(orders)],
  );
  const { rows } = await db.query<{ sku: string; total: number }>(
    'SELECT sku, (available + reserved + shipped)::int AS total FROM products',
  );
  return new Map(rows.map((r) => [r.sku, r.total]));
}

/** A pool on the isolated database for the runner's own queries. */
export function chaosDb(config: Config): Db {
  return createDb(config.database.url, { max: 4, applicationName: 'checkout-chaos' });
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Stops and restarts infrastructure of the isolated stack, each through the stack scripts. */
export class InfraFaults {
  constructor(
    private readonly config: Config,
    private readonly say: Say,
  ) {}

  private up(name: ComponentName): Promise<unknown> {
    return stackUp(this.config, { only: [name], say: this.say });
  }

  /** Sends `signal` to nats-server, waits for it to exit, keeps it down `downMs`, restarts it. */
  async restartNats(signal: 'SIGTERM' | 'SIGKILL', downMs: number): Promise<void> {
    const pid = ownedPid(join(stackLayout(this.config).runDir, 'nats.pid'), 'nats-server');
    if (pid === undefined) throw new Error('nats-server of the chaos stack is not running');
    process.kill(pid, signal);
    if (!(await waitGone(pid, 15_000))) {
      process.kill(pid, 'SIGKILL');
      await waitGone(pid, 5_000);
    }
    await sleep(downMs);
    await this.up('nats');
  }

  /** `pg_ctl stop -m immediate` (a crash: no checkpoint, recovery on start), then restarts it. */
  async restartPostgres(downMs: number): Promise<void> {
    const cluster = locateCluster(stackLayout(this.config));
    const bins = await findBinaries(cluster.dataDir);
    if (!bins) throw new Error('pg_ctl of the chaos cluster not found');
    await runAsOwnerChecked('pg_ctl stop -m immediate', bins.pgCtl, [
      'stop',
      '-D',
      cluster.dataDir,
      '-m',
      'immediate',
      '-w',
      '-t',
      '30',
      '-s',
    ]);
    await sleep(downMs);
    await this.up('postgres');
  }

  /** Stops the Temporal dev server (SIGTERM, SIGKILL after 15 s) and restarts it on the same SQLite file. */
  async restartTemporal(downMs: number): Promise<void> {
    const pid = ownedPid(join(stackLayout(this.config).runDir, 'temporal.pid'), 'temporal');
    if (pid === undefined) throw new Error('the Temporal dev server of the chaos stack is not running');
    await stopProcess('temporal', pid, 15_000);
    await sleep(downMs);
    await this.up('temporal');
  }

  /** Brings every component up (idempotent): the heal step. */
  async healAll(): Promise<void> {
    await stackUp(this.config, { say: this.say });
  }
}
