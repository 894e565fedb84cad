import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from 'nats';
import { principalEnv } from '../../access/env';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { READ_MODEL_CONSUMER } from '../../subscribers/read-model';
import { orderEvent, publishEvent } from '../support/events';
import { connectTestNats } from '../support/nats';
import { stopProcess, TestProcesses, type TestProcess } from '../support/processes';
import { eventually, testConfig, testDb } from '../support/services';

/** The NATS user each open client connection authenticated as, by connection name (monitor `/connz?auth=1`). */
async function natsUsers(config: Config): Promise<Map<string, string>> {
  const res = await fetch(new URL('/connz?auth=1&limit=1024', config.nats.monitorUrl));
  const body = (await res.json()) as { connections?: { name?: string; authorized_user?: string }[] };
  return new Map((body.connections ?? []).map((c) => [c.name ?? '', c.authorized_user ?? '']));
}

async function pgUser(db: Db, applicationName: string): Promise<string | undefined> {
  const { rows } = await db.query<{ usename: string }>(
    'SELECT usename FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database() LIMIT 1',
    [applicationName],
  );
  return rows[0]?.usename;
}

function assertNoSecret(p: TestProcess, secret: string): void {
  const leaking = p.lines.filter((l) => l.includes(secret));
  assert.deepEqual(leaking, [], `${p.name} printed the secret`);
}

describe('processes run as their principals, and their secrets stay out of logs', () => {
  const processes = new TestProcesses();
  let config: Config;
  let db: Db;
  let nc: NatsConnection;

  before(async () => {
    config = testConfig({ LOG_LEVEL: 'info' });
    db = await testDb(config);
    nc = await connectTestNats(config, 'principals-test');
  });
  after(async () => {
    await processes.killAll();
    await nc?.close();
    await db?.end();
  });

  it('a relay started by a test connects as the outbox-relay NATS user and PostgreSQL role', async () => {
    const relay = processes.start('relay', 'workers/relay.ts', { env: { DATABASE_URL: config.database.url } });
    await relay.waitForLog((l) => l.msg === 'outbox relay joined', 20_000, 'the relay to join');
    assert.equal(await pgUser(db, 'checkout-outbox-relay'), 'checkout_outbox_relay');
    assert.equal((await natsUsers(config)).get('checkout-outbox-relay'), 'outbox-relay');
    assert.equal((await stopProcess(relay, 'SIGTERM')).code, 0);
  });

  it('the read model consumes as its own user and role, and dead-letters under its own name', async () => {
    const since = new Date().toISOString();
    const readModel = processes.start('read-model', 'workers/subscriber-host.ts', {
      args: ['read-model'],
      env: { DATABASE_URL: config.database.url, READ_MODEL_DELIVER_FROM: since },
    });
    const orderId = randomUUID();
    await publishEvent(nc.jetstream(), orderEvent('checkout.order.placed', orderId));
    await eventually(
      async () =>
        (await db.query('SELECT 1 FROM read_orders WHERE order_id = $1', [orderId])).rowCount ? true : undefined,
      20_000,
      'the read model to record the order',
    );
    assert.equal(await pgUser(db, 'checkout-read-model'), 'checkout_read_model');
    assert.equal((await natsUsers(config)).get('checkout-read-model'), 'read-model');
    const jsm = await nc.jetstreamManager();
    const filter = `dlq.${READ_MODEL_CONSUMER}.>`;
    const deadBefore = (await jsm.streams.info('DLQ', { subjects_filter: filter })).state.messages;
    const msgId = randomUUID();
    await publishEvent(nc.jetstream(), { type: 'checkout.order.placed', body: '{"not":"an event"}', msgId });
    await eventually(
      async () =>
        (await jsm.streams.info('DLQ', { subjects_filter: filter })).state.messages > deadBefore ? true : undefined,
      20_000,
      'the malformed event to be dead-lettered',
    );
    assert.equal((await stopProcess(readModel, 'SIGTERM')).code, 0);
  });

  it('a wrong NATS password stops the process, and neither the password nor a log line shows it', async () => {
    const password = `wrong-nats-password-${randomUUID()}`;
    const relay = processes.start('relay-bad-nats', 'workers/relay.ts', {
      asGiven: true,
      env: { DATABASE_URL: config.database.url, NATS_USER: 'outbox-relay', NATS_PASSWORD: password },
    });
    const exit = await relay.exited;
    assert.notEqual(exit.code, 0, 'the relay stops');
    assert.ok(
      relay.lines.some((l) => /Authorization Violation|AUTHORIZATION_VIOLATION/i.test(l)),
      'it says why',
    );
    assertNoSecret(relay, password);
  });

  it('a wrong database password stops the process, and no log line shows it', async () => {
    const password = `wrong-db-password-${randomUUID()}`;
    const url = new URL(principalEnv('outbox-relay', config.stack.dir, config.database.url).DATABASE_URL ?? '');
    url.password = password;
    const relay = processes.start('relay-bad-db', 'workers/relay.ts', {
      asGiven: true,
      env: { ...principalEnv('outbox-relay', config.stack.dir, config.database.url), DATABASE_URL: url.toString() },
    });
    await relay.waitForLine((l) => /password authentication failed/.test(l), 30_000, 'the failed login');
    await stopProcess(relay, 'SIGTERM');
    assertNoSecret(relay, password);
  });
});
