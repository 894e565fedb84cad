import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { grantPrincipals } from '../../access/postgres-grants';
import { loadConfig, type Config } from '../../lib/config';
import { createDb, type Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { migrate } from '../../lib/migrate';
import { seedCatalog } from '../../lib/seed';
import { sleep } from '../../lib/wait';

/**
 * Configuration for tests: the stack's services, a separate `<db>_test` database (so a running
 * `npm start` is not disturbed) and a task queue of its own.
 */
export function testConfig(overrides: Record<string, string> = {}): Config {
  const base = loadConfig();
  const url = new URL(base.database.url);
  url.pathname = `${url.pathname.replace(/^\//, '')}_test`;
  return loadConfig({
    ...process.env,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    DATABASE_URL: url.toString(),
    TEMPORAL_TASK_QUEUE: `checkout-test-${randomUUID().slice(0, 8)}`,
    ...overrides,
  });
}

export const testLogger = (name: string) => createLogger(name, process.env.LOG_LEVEL ?? 'warn');

/**
 * Creates the database `url` names if it does not exist, connecting through `adminUrl` (another
 * database on the same server). Fails loudly, with what to run, when Postgres is not reachable:
 * tests never skip silently.
 *
 * @example
 * await ensureDatabase('postgres://…/checkout_test', 'postgres://…/checkout');
 */
export async function ensureDatabase(url: string, adminUrl: string): Promise<void> {
  const dbName = decodeURIComponent(new URL(url).pathname.slice(1));
  const client = new pg.Client({ connectionString: adminUrl });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `Postgres is not reachable at ${new URL(adminUrl).host} (${(err as Error).message}); run \`npm run stack:up\` first`,
    );
  }
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (exists.rowCount === 0) {
      await client.query(`CREATE DATABASE "${dbName.replace(/"/g, '""')}"`).catch((err: Error) => {
        if (!/already exists/.test(err.message)) throw err;
      });
    }
  } finally {
    await client.end();
  }
}

/** Creates (if needed), migrates and seeds the test database, and returns a pool on it. */
export async function testDb(config: Config): Promise<Db> {
  const admin = new URL(config.database.url);
  admin.pathname = admin.pathname.replace(/_test$/, '');
  await ensureDatabase(config.database.url, admin.toString());
  const db = createDb(config.database.url, {
    max: 10,
    applicationName: 'checkout-tests',
    timeouts: config.database.timeouts,
  });
  await migrate(db);
  await grantPrincipals(db);
  await seedCatalog(db);
  return db;
}

/** Inserts an order row directly (as the API would), for activity-level tests. */
export async function insertOrder(
  db: Db,
  opts: {
    items?: { sku: string; quantity: number; unitPriceCents: number; name?: string }[];
    paymentMethod?: string;
    country?: string;
  } = {},
): Promise<string> {
  const orderId = randomUUID();
  const items = (opts.items ?? [{ sku: 'SKU-001', quantity: 1, unitPriceCents: 500 }]).map((i) => ({
    name: i.sku,
    ...i,
  }));
  const total = items.reduce((s, i) => s + i.quantity * i.unitPriceCents, 0);
  await db.query(
    `INSERT INTO orders (id, customer_id, status, currency, total_cents, items, shipping_address, payment_method, traceparent, created_at, updated_at)
     VALUES ($1, 'cust-it', 'PENDING', 'USD', $2, $3, $4, $5, $6, now(), now())`,
    [
      orderId,
      total,
      JSON.stringify(items),
      JSON.stringify({ name: 'N', line1: 'L', city: 'C', postalCode: 'P', country: opts.country ?? 'DE' }),
      opts.paymentMethod ?? 'pm_card_visa',
      `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`,
    ],
  );
  return orderId;
}

/** A SKU of its own with `available` stock, so tests never race each other on stock counts. */
export async function freshSku(db: Db, available: number, priceCents = 700): Promise<string> {
  const sku = `T-${randomUUID().slice(0, 12)}`;
  await db.query('INSERT INTO products (sku, name, price_cents, available) VALUES ($1, $2, $3, $4)', [
    sku,
    `Test ${sku}`,
    priceCents,
    available,
  ]);
  return sku;
}

export async function stockOf(db: Db, sku: string): Promise<{ available: number; reserved: number; shipped: number }> {
  const { rows } = await db.query<{ available: number; reserved: number; shipped: number }>(
    'SELECT available, reserved, shipped FROM products WHERE sku = $1',
    [sku],
  );
  if (!rows[0]) throw new Error(`no product ${sku}`);
  return rows[0];
}

export async function outboxSubjects(db: Db, orderId: string): Promise<string[]> {
  const { rows } = await db.query<{ subject: string }>(
    'SELECT subject FROM outbox WHERE partition_key = $1 ORDER BY id',
    [orderId],
  );
  return rows.map((r) => r.subject);
}

/** Polls `probe` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
