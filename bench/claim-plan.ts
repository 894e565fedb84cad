import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config';
import { createDb, type Db } from '../lib/db';
import { createLogger } from '../lib/logger';
import { migrate } from '../lib/migrate';
import { connectNats, declareStreams } from '../lib/nats';
import { OUTBOX_PARTITIONS, OutboxRelay } from '../outbox/relay';
import { CLAIM_SESSION_SETTINGS, CLAIM_SQL, claimValues } from '../outbox/relay/claim';
import { benchEvents, publishRaw } from './payloads';

// The relay's claim query after a backlog drain: `npx tsx bench/claim-plan.ts [--rows 20000]`
// against the stack of DATABASE_URL and NATS_URL (your own, never a shared one). It commits the
// rows, drains them with an in-process relay of the default settings, then prints
// EXPLAIN (ANALYZE, BUFFERS) of the claim for all 64 partitions, the partial index's size and the
// outbox's dead rows, right after the drain and again once autovacuum has been by.

async function explainClaim(db: Db, label: string): Promise<void> {
  const partitions = Array.from({ length: OUTBOX_PARTITIONS }, (_, p) => p);
  const values = claimValues(partitions, 200, []);
  // On one connection with the relay session's planner settings, as the relay runs it.
  const client = await db.connect();
  let rows: { 'QUERY PLAN': string }[];
  try {
    await client.query(CLAIM_SESSION_SETTINGS);
    ({ rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${CLAIM_SQL}`, values));
  } finally {
    client.release(true);
  }
  const { rows: stats } = await db.query<{ dead: string; live: string; idx: string; vacuumed: Date | null }>(
    `SELECT n_dead_tup AS dead, n_live_tup AS live, last_autovacuum AS vacuumed,
            pg_size_pretty(pg_relation_size('outbox_unpublished_partition_idx')) AS idx
       FROM pg_stat_user_tables WHERE relname = 'outbox'`,
  );
  console.log(`\n== ${label}: outbox ${JSON.stringify(stats[0])}`);
  for (const r of rows) console.log(r['QUERY PLAN']);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '20000' } } });
  const n = Number(values.rows);
  const config = loadConfig();
  // It fills the outbox in bulk first: no statement limit.
  const db = createDb(config.database.url, {
    max: 4,
    applicationName: 'claim-plan',
    timeouts: { ...config.database.timeouts, queryMs: 0 },
  });
  const nc = await connectNats(config.nats, 'claim-plan');
  const controller = new AbortController();
  try {
    await migrate(db);
    await declareStreams(nc, config.nats);
    const events = benchEvents(n);
    for (let i = 0; i < n; i += 5000) {
      const chunk = events.slice(i, i + 5000);
      await db.query(
        `INSERT INTO outbox (event_id, subject, partition_key, envelope, headers)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[])`,
        [
          chunk.map((e) => e.id),
          chunk.map((e) => e.subject),
          chunk.map((e) => e.orderId),
          chunk.map((e) => e.body),
          chunk.map((e) => JSON.stringify({ traceparent: e.traceparent })),
        ],
      );
    }
    await explainClaim(db, `before the drain, ${n} rows waiting`);
    const relay = new OutboxRelay(
      { db, js: nc.jetstream(), logger: createLogger('claim-plan', 'warn') },
      {
        batchSize: config.relay.batchSize,
        windowSize: config.relay.window,
        pollIntervalMs: 1000,
        rebalanceIntervalMs: 2000,
        publishTimeoutMs: 5000,
        retentionMs: 86_400_000,
      },
    );
    const started = performance.now();
    const running = relay.run(controller.signal);
    for (;;) {
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
      );
      if (rows[0]?.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const drainMs = performance.now() - started;
    controller.abort();
    await running;
    const rawStarted = performance.now();
    await publishRaw(nc.jetstream(), benchEvents(n), config.relay.window);
    const rawMs = performance.now() - rawStarted;
    console.log(
      `\ndrained ${n} rows in ${Math.round(drainMs)} ms (${Math.round((n * 1000) / drainMs)}/s); raw nats.js, same ` +
        `payloads and window, ${Math.round(rawMs)} ms (${Math.round((n * 1000) / rawMs)}/s): ratio ${(rawMs / drainMs).toFixed(3)}`,
    );
    await explainClaim(db, 'right after the drain');
    await new Promise((resolve) => setTimeout(resolve, 70_000));
    await explainClaim(db, '70 s later (autovacuum naptime is 60 s)');
  } finally {
    controller.abort();
    await nc.drain();
    await db.end();
  }
}

await main();
