import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AckPolicy, connect, DeliverPolicy, ErrorCode, type NatsConnection } from 'nats';
import { principalEnv } from '../../access/env';
import { declareTeamDurable, declareTeamDurables } from '../../access/team-durables';
import { teamDurable } from '../../access/teams';
import { createLogger } from '../../lib/logger';
import { declareStreams, inboxPrefix } from '../../lib/nats';
import type { PrincipalName } from '../../access/principals';
import type { Config } from '../../lib/config';
import { orderEvent, publishEvent } from '../support/events';
import { connectTestNats } from '../support/nats';
import { testConfig } from '../support/services';

const TEAM_DURABLE = 'example-team-orders';
const OTHER_DURABLE = 'nats-permissions-other-team';

/** The example team's settings as the stack wrote them: `{ servers, user, password }`. */
function teamSettings(config: Config): { servers: string[]; user: string; password: string } {
  const file = join(config.stack.dir, 'nats', 'example-team.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { servers: string[]; user: string; password: string };
  } catch (err) {
    throw new Error(`${file} is missing (${(err as Error).message}); run \`npm run stack:up\` first`);
  }
}

async function connectAs(config: Config, name: PrincipalName): Promise<NatsConnection> {
  const env = principalEnv(name, config.stack.dir, config.database.url);
  const user = env.NATS_USER ?? '';
  return connect({ servers: config.nats.servers, user, pass: env.NATS_PASSWORD, inboxPrefix: inboxPrefix(user) });
}

/** A JetStream call or publish the server refused for lack of permission. */
async function assertDenied(attempt: Promise<unknown>): Promise<void> {
  await assert.rejects(attempt, (err: { code?: string; message?: string }) => {
    assert.equal(err.code, ErrorCode.PermissionsViolation, `expected a permissions violation, got ${err.message}`);
    return true;
  });
}

describe('NATS accounts: each user can do only what its principal needs', () => {
  let config: Config;
  let admin: NatsConnection;
  let team: NatsConnection;

  before(async () => {
    config = testConfig();
    admin = await connectTestNats(config, 'nats-permissions-admin');
    const settings = teamSettings(config);
    team = await connect({
      servers: settings.servers,
      user: settings.user,
      pass: settings.password,
      inboxPrefix: inboxPrefix(settings.user),
    });
    const jsm = await admin.jetstreamManager();
    for (const durable of [TEAM_DURABLE, OTHER_DURABLE])
      await jsm.consumers.delete('CHECKOUT', durable).catch(() => false);
  });
  after(async () => {
    await team?.close();
    await admin?.close();
  });

  it('the relay declares the example team’s durable; the team consumes through it and may delete it', async () => {
    const relay = await connectAs(config, 'outbox-relay');
    try {
      const jsm = await relay.jetstreamManager();
      assert.equal(await declareTeamDurable(jsm, teamDurable(TEAM_DURABLE), { deliverFrom: new Date() }), 'created');
      assert.equal(await declareTeamDurable(jsm, teamDurable(TEAM_DURABLE)), 'updated', 'declaring again keeps it');
    } finally {
      await relay.close();
    }
    const event = orderEvent('checkout.order.placed', crypto.randomUUID());
    await publishEvent(admin.jetstream(), event);
    const consumer = await team.jetstream().consumers.get('CHECKOUT', TEAM_DURABLE);
    let received: string | undefined;
    // Another file's checkout.order.* events published in the same instant may come first.
    for (let i = 0; i < 20 && received !== event.id; i++) {
      const msg = await consumer.next({ expires: 5000 });
      assert.ok(msg, 'the team received the event');
      received = (JSON.parse(new TextDecoder().decode(msg.data)) as { id: string }).id;
      assert.equal(await msg.ackAck(), true, 'the ack went through');
    }
    assert.equal(received, event.id);
    const jsm = await team.jetstreamManager();
    assert.equal(await jsm.consumers.delete('CHECKOUT', TEAM_DURABLE), true);
  });

  it('the example team cannot declare a consumer, so it cannot aim a push consumer at the checkout’s subjects', async () => {
    const adminJsm = await admin.jetstreamManager();
    const before = (await adminJsm.streams.info('PAYMENTS')).state.messages;
    const jsm = await team.jetstreamManager();
    // nats-server does not check a deliver subject against its creator's permissions
    // (nats-io/nats-server#8274): this consumer would have JetStream publish CHECKOUT's events
    // onto payments.payment.charged. Creating any consumer is refused to the team.
    await assertDenied(
      jsm.consumers.add('CHECKOUT', {
        durable_name: TEAM_DURABLE,
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.All,
        deliver_subject: 'payments.payment.charged',
      }),
    );
    await assertDenied(jsm.consumers.add('CHECKOUT', { durable_name: TEAM_DURABLE, ack_policy: AckPolicy.Explicit }));
    await assertDenied(
      jsm.consumers.add('CHECKOUT', { name: 'example-team-ephemeral', ack_policy: AckPolicy.Explicit }),
    );
    assert.equal((await adminJsm.streams.info('PAYMENTS')).state.messages, before, 'nothing reached PAYMENTS');
  });

  it('declaring a team durable replaces a push consumer of that name', async () => {
    const jsm = await admin.jetstreamManager();
    await jsm.consumers.add('CHECKOUT', {
      durable_name: TEAM_DURABLE,
      ack_policy: AckPolicy.None,
      deliver_subject: `nats-permissions.sink.${crypto.randomUUID()}`,
    });
    assert.equal(await declareTeamDurable(jsm, teamDurable(TEAM_DURABLE)), 'replaced');
    const info = await jsm.consumers.info('CHECKOUT', TEAM_DURABLE);
    assert.equal(info.config.deliver_subject, undefined, 'a pull consumer again');
    assert.equal(info.config.ack_policy, AckPolicy.Explicit);
    await jsm.consumers.delete('CHECKOUT', TEAM_DURABLE);
  });

  it('declaring a team durable brings an older single-filter declaration to its settings', async () => {
    const jsm = await admin.jetstreamManager();
    await jsm.consumers.add('CHECKOUT', {
      durable_name: TEAM_DURABLE,
      ack_policy: AckPolicy.Explicit,
      filter_subject: 'checkout.order.placed',
    });
    assert.equal(await declareTeamDurable(jsm, teamDurable(TEAM_DURABLE)), 'updated');
    const info = await jsm.consumers.info('CHECKOUT', TEAM_DURABLE);
    assert.deepEqual(info.config.filter_subjects, [...teamDurable(TEAM_DURABLE).filterSubjects]);
    assert.equal(info.config.max_deliver, teamDurable(TEAM_DURABLE).maxDeliver);
    await jsm.consumers.delete('CHECKOUT', TEAM_DURABLE);
  });

  it('the relay declares the checkout’s streams, and no other stream', async () => {
    const relay = await connectAs(config, 'outbox-relay');
    try {
      await declareStreams(relay, config.nats);
      const jsm = await relay.jetstreamManager();
      await assertDenied(jsm.streams.add({ name: `ROGUE_${crypto.randomUUID().slice(0, 8)}`, subjects: ['rogue.>'] }));
      await assertDenied(jsm.streams.delete('CHECKOUT'));
      await assertDenied(jsm.streams.purge('PAYMENTS'));
    } finally {
      await relay.close();
    }
  });

  it('a relay that may not declare a team durable logs it and goes on', async () => {
    // The read model's user stands for a relay whose NATS permissions predate the team's entry.
    const lacking = await connectAs(config, 'read-model');
    const errors: string[] = [];
    const logger = createLogger('team-durables', 'error', { write: (line: string) => void errors.push(line) });
    try {
      assert.equal(await declareTeamDurables(await lacking.jetstreamManager(), logger), 1, 'one durable not declared');
    } finally {
      await lacking.close();
    }
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? '', /could not declare a team durable/);
  });

  it('the example team cannot forge an event: publishing to payments.payment.charged is refused', async () => {
    const before = (await (await admin.jetstreamManager()).streams.info('PAYMENTS')).state.messages;
    await assertDenied(team.jetstream().publish('payments.payment.charged', new TextEncoder().encode('{}')));
    await assertDenied(team.jetstream().publish('checkout.order.completed', new TextEncoder().encode('{}')));
    const afterwards = (await (await admin.jetstreamManager()).streams.info('PAYMENTS')).state.messages;
    assert.equal(afterwards, before, 'nothing reached the stream');
  });

  it('the example team dead-letters under its own durable only, never under another consumer’s', async () => {
    await assertDenied(
      team.jetstream().publish('dlq.order-read-model.checkout.order.placed', new TextEncoder().encode('{}')),
    );
  });

  it('the example team cannot delete or purge a stream', async () => {
    const jsm = await team.jetstreamManager();
    await assertDenied(jsm.streams.delete('CHECKOUT'));
    await assertDenied(jsm.streams.purge('PAYMENTS'));
    await assertDenied(jsm.streams.update('CHECKOUT', { max_age: 1_000_000_000 }));
    const info = await (await admin.jetstreamManager()).streams.info('CHECKOUT');
    assert.equal(info.config.name, 'CHECKOUT');
  });

  it('the example team cannot delete, create or read another durable, nor name one in a request body', async () => {
    await (
      await admin.jetstreamManager()
    ).consumers.add('CHECKOUT', { durable_name: OTHER_DURABLE, ack_policy: AckPolicy.Explicit });
    const jsm = await team.jetstreamManager();
    await assertDenied(jsm.consumers.delete('CHECKOUT', OTHER_DURABLE));
    await assertDenied(jsm.consumers.info('CHECKOUT', OTHER_DURABLE));
    await assertDenied(
      jsm.consumers.add('CHECKOUT', { durable_name: 'order-read-model', ack_policy: AckPolicy.Explicit }),
    );
    // The pre-2.9 subject carries the name only in the body, which permissions cannot see: never granted.
    await assertDenied(
      team.request(
        '$JS.API.CONSUMER.CREATE.CHECKOUT',
        JSON.stringify({ stream_name: 'CHECKOUT', config: { durable_name: OTHER_DURABLE } }),
      ),
    );
    const still = await (await admin.jetstreamManager()).consumers.info('CHECKOUT', OTHER_DURABLE);
    assert.equal(still.name, OTHER_DURABLE);
    await (await admin.jetstreamManager()).consumers.delete('CHECKOUT', OTHER_DURABLE);
  });

  it('an anonymous connection, or a wrong password, is refused without echoing the password', async () => {
    await assert.rejects(connect({ servers: config.nats.servers, reconnect: false }), {
      code: ErrorCode.AuthorizationViolation,
    });
    const wrong = 'not-the-password-0123456789';
    await assert.rejects(
      connect({ servers: config.nats.servers, user: 'outbox-relay', pass: wrong, reconnect: false }),
      (err: Error) => {
        assert.equal((err as { code?: string }).code, ErrorCode.AuthorizationViolation);
        assert.ok(!err.message.includes(wrong), 'the error does not carry the password');
        return true;
      },
    );
  });

  for (const name of ['api', 'read-model', 'audit-subscriber', 'notifications'] as const)
    it(`the ${name} user cannot forge an event`, async () => {
      const nc = await connectAs(config, name);
      try {
        if (name === 'api') {
          // The API may not publish or subscribe at all: even its own inbox is closed to it.
          await assertDenied(nc.request('payments.payment.charged', '{}'));
          return;
        }
        await assertDenied(nc.jetstream().publish('payments.payment.charged', new TextEncoder().encode('{}')));
      } finally {
        await nc.close();
      }
    });

  it('a subscriber cannot administer streams or another subscriber’s durable', async () => {
    const nc = await connectAs(config, 'notifications');
    try {
      const jsm = await nc.jetstreamManager();
      await assertDenied(jsm.streams.delete('CHECKOUT'));
      await assertDenied(jsm.streams.purge('DLQ'));
      await assertDenied(jsm.consumers.delete('CHECKOUT', 'order-read-model'));
      await assertDenied(
        nc.jetstream().publish('dlq.order-read-model.checkout.order.placed', new TextEncoder().encode('{}')),
      );
    } finally {
      await nc.close();
    }
  });
});
