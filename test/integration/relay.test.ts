import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from 'nats';
import { runConsumer } from '../../events/consumer';
import { repoRoot, type Config } from '../../lib/config';
import { withTransaction, type Db } from '../../lib/db';
import { connectNats, declareStreams } from '../../lib/nats';
import { randomIds, systemClock } from '../../lib/runtime';
import { appendEvent } from '../../outbox/append';
import { eventually, testConfig, testDb, testLogger } from '../support/services';

function startRelay(config: Config): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'workers/relay.ts'], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: config.database.url, RELAY_BATCH_SIZE: '50', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

describe('outbox relay against real Postgres and NATS', () => {
  let config: Config;
  let db: Db;
  let nc: NatsConnection;
  const children: ChildProcess[] = [];

  before(async () => {
    config = testConfig();
    db = await testDb(config);
    try {
      nc = await connectNats(config.nats, 'relay-test');
      await declareStreams(nc, config.nats);
    } catch (err) {
      throw new Error(`NATS is not reachable at ${config.nats.servers.join(',')} (${(err as Error).message}); run \`npm run stack:up\` first`);
    }
  });
  after(async () => {
    for (const c of children) await stop(c, 'SIGKILL');
    await nc?.drain();
    await db?.end();
  });

  it('killed with SIGKILL mid-stream and restarted, delivers every row once, in commit order per order', async () => {
    const since = new Date(Date.now() - 1_000);
    const orders = Array.from({ length: 40 }, () => randomUUID());
    const perOrder = 25;
    const eventIds = new Set<string>();
    // Interleave orders across transactions, as concurrent sagas would.
    for (let k = 1; k <= perOrder; k += 1) {
      await withTransaction(db, async (tx) => {
        for (const orderId of orders) {
          const env = await appendEvent(tx, { clock: systemClock, ids: randomIds, source: '/test/relay' }, {
            orderId,
            traceparent: `00-${'3'.repeat(32)}-${'4'.repeat(16)}-01`,
            event: { type: 'inventory.stock.reserved', dataversion: 1, data: { orderId, items: [{ sku: 'SEQ', quantity: k }], reservedAt: new Date().toISOString() } },
          });
          eventIds.add(env.id);
        }
      });
    }
    const total = eventIds.size;
    const published = async () =>
      Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE event_id = ANY($1) AND published_at IS NOT NULL', [[...eventIds]])).rows[0]?.n);

    const first = startRelay(config);
    children.push(first);
    const atKill = await eventually(async () => {
      const n = await published();
      return n >= 100 ? n : undefined;
    }, 60_000, 'the relay to publish its first batches');
    await stop(first, 'SIGKILL');
    const afterKill = await published();
    assert.ok(afterKill < total, `the relay was killed mid-stream (${afterKill}/${total} published)`);

    const second = startRelay(config);
    children.push(second);
    await eventually(async () => ((await published()) === total ? true : undefined), 60_000, 'every row to be published after restart');

    const applied = new Map<string, number>();
    const lastSeq = new Map<string, number>();
    const outOfOrder: string[] = [];
    const controller = new AbortController();
    const consumerName = `relay-test-${randomUUID().slice(0, 8)}`;
    const consuming = runConsumer(
      { nc, db, logger: testLogger('relay-test') },
      { name: consumerName, stream: 'INVENTORY', filterSubjects: ['inventory.stock.reserved'], deliverFrom: since },
      async (event) => {
        if (event.type !== 'inventory.stock.reserved' || !eventIds.has(event.id)) return;
        applied.set(event.id, (applied.get(event.id) ?? 0) + 1);
        const k = event.data.items[0]?.quantity ?? 0;
        if (k !== (lastSeq.get(event.subject) ?? 0) + 1) outOfOrder.push(`${event.subject}: ${k} after ${lastSeq.get(event.subject) ?? 0}`);
        lastSeq.set(event.subject, k);
      },
      controller.signal,
    );
    try {
      await eventually(async () => (applied.size === total ? true : undefined), 60_000, `the subscriber to see all ${total} events`);
    } finally {
      controller.abort();
      await consuming;
      await (await nc.jetstreamManager()).consumers.delete('INVENTORY', consumerName);
    }
    assert.ok(atKill >= 100);
    assert.equal(applied.size, total, 'every event id reached the subscriber');
    assert.ok([...applied.values()].every((n) => n === 1), 'each event id was applied once');
    assert.deepEqual(outOfOrder, [], 'each order\'s events arrived in commit order');
  });
});
