import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JetStreamClient, JetStreamManager, NatsConnection } from 'nats';
import { declareTeamDurable } from '../../access/team-durables';
import { teamDurable } from '../../access/teams';
import { discardDeadLetter, listDeadLetters } from '../../events/dead-letters/admin';
import { repoRoot, type Config } from '../../lib/config';
import { installedPythonTool } from '../../scripts/stack';
import { connectTestNats } from '../support/nats';
import { stopProcess, TestProcesses, type TestProcess } from '../support/processes';
import { testConfig } from '../support/services';
import { assertToolSucceeded, runTool } from '../support/tools';

const example = join(repoRoot, 'examples', 'python-subscriber');
const encoder = new TextEncoder();

/** A fixture of events/fixtures as a fresh event of `orderId`: new id, now, same shape. */
function event(type: string, orderId: string, change: (data: Record<string, unknown>) => void = () => undefined) {
  const body = JSON.parse(readFileSync(join(repoRoot, 'events', 'fixtures', `${type}.v1.json`), 'utf8')) as {
    id: string;
    subject: string;
    time: string;
    data: Record<string, unknown>;
  };
  Object.assign(body, { id: randomUUID(), subject: orderId, time: new Date().toISOString() });
  body.data.orderId = orderId;
  change(body.data);
  return body;
}

// The example subscriber of another team (examples/python-subscriber), run as its README says
// against the stack's real NATS: its own durable on CHECKOUT, the generated models validating,
// each event applied once to its SQLite projection, what it cannot apply in the shared DLQ.
describe('the Python example subscriber, against the real NATS', () => {
  let config: Config;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const processes = new TestProcesses();
  // It runs as the example team, through the one durable that team may use.
  const durable = 'example-team-orders';
  const db = join(mkdtempSync(join(tmpdir(), 'python-subscriber-')), 'orders.sqlite3');
  const python = () => installedPythonTool(config.stack.cacheDir, 'python');
  let subscriber: TestProcess;
  const outcomes = () =>
    subscriber.lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as { outcome: string; eventId?: string; type?: string; error?: string }];
      } catch {
        return [];
      }
    });
  const waitFor = (count: number, what: string) =>
    subscriber.waitForLine(() => outcomes().filter((o) => o.outcome !== 'ready').length >= count, 30_000, what);

  before(async () => {
    config = testConfig();
    nc = await connectTestNats(config, 'python-subscriber-test');
    js = nc.jetstream();
    jsm = await nc.jetstreamManager();
    // The checkout declares the team's durable (as its relay does), from now: one left by an
    // earlier run would resume there instead.
    await jsm.consumers.delete('CHECKOUT', durable).catch(() => undefined);
    await declareTeamDurable(jsm, teamDurable(durable), { deliverFrom: new Date() });
    subscriber = processes.startExecutable(
      'python-subscriber',
      python(),
      [
        'subscriber.py',
        `--credentials=${join(config.stack.dir, 'nats', 'example-team.json')}`,
        `--durable=${durable}`,
        `--db=${db}`,
      ],
      example,
    );
    await subscriber.waitForLine((l) => l.includes('"ready"'), 30_000, 'the subscriber to bind its durable');
  });
  after(async () => {
    await processes.killAll();
    await jsm?.consumers.delete('CHECKOUT', durable).catch(() => undefined);
    for (const d of (await listDeadLetters(jsm, { consumer: durable }).catch(() => [])) ?? [])
      await discardDeadLetter(jsm, d.seq).catch(() => undefined);
    await nc?.drain();
  });

  it('has models that are what datamodel-code-generator makes of the committed JSON Schemas', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'models-')), 'checkout_events');
    const bin = join(python(), '..');
    const run = runTool('sh', [join(example, 'generate_models.sh'), out], example, {
      PATH: `${bin}:${process.env.PATH}`,
    });
    assertToolSucceeded(run, 'generate_models.sh');
    assertToolSucceeded(runTool('diff', ['-r', out, join(example, 'checkout_events')], example), 'diff of the models');
  });

  it('applies an order’s events once each, dead-letters an invalid one, and keeps the projection', async () => {
    const orderId = randomUUID();
    const placed = event('checkout.order.placed', orderId);
    const completed = event('checkout.order.completed', orderId);
    const broken = event('checkout.order.completed', randomUUID(), (data) => {
      data.totalCents = 'twenty';
    });
    const publish = (subject: string, body: object, msgID: string) =>
      js.publish(subject, encoder.encode(JSON.stringify(body)), { msgID });
    await publish('checkout.order.placed', placed, placed.id);
    await publish('checkout.order.completed', completed, completed.id);
    // The same event stored twice (as a replayed dead letter would be): applied once.
    await publish('checkout.order.completed', completed, `again-${completed.id}`);
    await publish('checkout.order.completed', broken, broken.id);
    await waitFor(4, 'four messages settled');

    assert.deepEqual(
      outcomes()
        .filter((o) => o.outcome !== 'ready')
        .map((o) => [o.eventId, o.outcome]),
      [
        [placed.id, 'applied'],
        [completed.id, 'applied'],
        [completed.id, 'duplicate'],
        [broken.id, 'dead_lettered'],
      ],
    );
    const dead = await listDeadLetters(jsm, { consumer: durable });
    assert.deepEqual(
      dead.map((d) => [d.eventId, d.originalSubject, d.eventSubject]),
      [[broken.id, 'checkout.order.completed', broken.subject]],
    );
    assert.match(dead[0]?.error ?? '', /^invalid-data: data\.totalCents: /);

    assert.equal((await stopProcess(subscriber, 'SIGTERM')).code, 0, 'SIGTERM drains and exits 0');
    const dump = runTool(python(), ['subscriber.py', `--db=${db}`, '--dump'], example);
    assertToolSucceeded(dump, 'subscriber.py --dump');
    assert.deepEqual(
      (JSON.parse(dump.stdout) as { orderId: string; status: string }[]).map((o) => [o.orderId, o.status]),
      [[orderId, 'COMPLETED']],
    );
  });
});
