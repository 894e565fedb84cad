import { grantPrincipals } from '../../access/postgres-grants';
import { existsSync, lstatSync, readdirSync, realpathSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../lib/config';
import { createDb, type Db } from '../../lib/db';
import { migrate } from '../../lib/migrate';
import { seedCatalog } from '../../lib/seed';
import { sleep } from '../../lib/wait';
import { haStackEnv } from '../stack/ha';
import { stackDown, stackUp, type ComponentName, type Say } from '../stack/index';
import { isolatedStackEnv } from '../stack/isolated';
import { stackLayout } from '../stack/layout';
import { locateCluster } from '../stack/postgres-cluster';
import { findBinaries, runAsOwnerChecked } from '../stack/postgres-tools';
import { isProcessAlive, ownedPid } from '../stack/processes';
import type { ChaosArgs } from './args';
import type { FaultRecord, InfraFaults } from './faults';
import { CHAOS_HA_PORTS, haChaosStackDown, haChaosStackUp, HaInfraFaults } from './ha-stack';
import { SCARCE_SKU, scarceStock, type InfraFault } from './plan';

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
  const addresses =
    args.topology === 'ha'
      ? { ...isolatedStackEnv(args.ports, args.stackDir), ...haStackEnv(CHAOS_HA_PORTS, args.stackDir) }
      : isolatedStackEnv(args.ports, args.stackDir);
  return {
    ...addresses,
    PORT: String(args.ports.api),
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: 'checkout-chaos',
    API_TOKENS: CHAOS_TOKEN,
    PAYMENT_CONFIRMATION_TIMEOUT: args.confirmTimeout,
    SHUTDOWN_GRACE_PERIOD: '10s',
    // Below the network faults (6-12 s of latency, holds of 8-14 s at full scale), so a held or
    // slowed PostgreSQL hop outlasts the pool's timeouts (3 s statement, 5 s client, 3 s connect).
    DATABASE_QUERY_TIMEOUT: '3s',
    DATABASE_CONNECT_TIMEOUT: '3s',
  };
}

/**
 * The runner's own configuration: the inherited environment (PATH, cache directories) with every
 * address replaced by the isolated stack's.
 */
export function chaosConfig(env: Record<string, string>, inherited: NodeJS.ProcessEnv): Config {
  return loadConfig({ ...inherited, ...env });
}

/** The stack of a run: how to start and stop it, and the faults its topology takes. */
export interface ChaosStack {
  up(): Promise<void>;
  down(): Promise<void>;
  infra: InfraFaults;
}

/**
 * The development-shaped isolated stack, or (`--ha`) the production-shaped one.
 *
 * @example
 * const stack = chaosStack(args, config, say);
 * await freshStack(config, stack, say);
 */
export function chaosStack(args: ChaosArgs, config: Config, say: Say): ChaosStack {
  if (args.topology === 'ha') {
    return {
      up: () => haChaosStackUp(config, say),
      down: () => haChaosStackDown(config, say),
      infra: new HaInfraFaults(config, say),
    };
  }
  return {
    up: async () => {
      await stackUp(config, { say });
    },
    down: async () => {
      await stackDown(config, { say });
    },
    infra: new DevInfraFaults(config, say),
  };
}

/** Removes a stack directory left by an earlier run (after stopping what it runs), if it is ours. */
export async function wipeStack(config: Config, stack: ChaosStack): Promise<void> {
  const dir = config.stack.dir;
  if (!existsSync(dir)) return;
  if (!existsSync(join(dir, MARKER)) && readdirSync(dir).length > 0) {
    throw new Error(
      `${dir} exists and was not created by the chaos runner; pass another --stack-dir or remove it yourself`,
    );
  }
  await stack.down();
  const pgHome = join(dir, 'postgres');
  // A relocated cluster lives behind a symlink; its real home must go too or initdb is skipped.
  if (lstatSync(pgHome, { throwIfNoEntry: false })?.isSymbolicLink() && existsSync(pgHome))
    rmSync(realpathSync(pgHome), { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
}

/** Starts the isolated stack from an empty STACK_DIR. */
export async function freshStack(config: Config, stack: ChaosStack): Promise<void> {
  await wipeStack(config, stack);
  mkdirSync(config.stack.dir, { recursive: true });
  writeFileSync(join(config.stack.dir, MARKER), 'created by scripts/chaos; wiped at the start of every chaos run\n');
  await stack.up();
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
  await grantPrincipals(db);
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
  return createDb(config.database.url, {
    max: 4,
    applicationName: 'checkout-chaos',
    timeouts: config.database.timeouts,
  });
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
export class DevInfraFaults implements InfraFaults {
  constructor(
    private readonly config: Config,
    private readonly say: Say,
  ) {}

  async inject(fault: InfraFault, record: FaultRecord): Promise<void> {
    switch (fault.kind) {
      case 'nats-sigterm':
      case 'nats-sigkill':
        await this.restartNats(fault.kind === 'nats-sigterm' ? 'SIGTERM' : 'SIGKILL', fault.downMs);
        break;
      case 'postgres-immediate':
        await this.restartPostgres(fault.downMs);
        break;
      case 'temporal-restart':
        await this.restartTemporal(fault.downMs);
        break;
      default:
        throw new Error(`${fault.kind} needs the --ha topology`);
    }
    record.injected = true;
  }

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

  /**
   * SIGKILLs the Temporal dev server (no clean shutdown: whatever SQLite had not synced is lost, as
   * in a machine crash) and restarts it on the same file.
   */
  async restartTemporal(downMs: number): Promise<void> {
    const pid = ownedPid(join(stackLayout(this.config).runDir, 'temporal.pid'), 'temporal');
    if (pid === undefined) throw new Error('the Temporal dev server of the chaos stack is not running');
    process.kill(pid, 'SIGKILL');
    if (!(await waitGone(pid, 15_000))) throw new Error(`the Temporal dev server (pid ${pid}) outlived SIGKILL`);
    await sleep(downMs);
    await this.up('temporal');
  }

  /** Brings every component up (idempotent): the heal step. */
  async healAll(): Promise<void> {
    await stackUp(this.config, { say: this.say });
  }
}
