import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { checkInvariants, type Evidence } from '../../scripts/chaos/invariants';
import type { ChaosReport } from '../../scripts/chaos/report';
import { runChaos } from '../support/chaos-run';

// A fixed seed: the same orders and the same fault plan on every run of the suite.
const SEED = 20250101;
const RUN_TIMEOUT_MS = 200_000;

test(
  'a short chaos run (every fault kind, fixed seed) keeps every invariant',
  { timeout: RUN_TIMEOUT_MS + 30_000 },
  async () => {
    const report = join(mkdtempSync(join(tmpdir(), 'chaos-test-')), 'report.json');
    const { code, output } = await runChaos(
      ['--seed', String(SEED), '--orders', '40', '--duration', '60', '--quiesce-timeout', '90', '--report', report],
      RUN_TIMEOUT_MS,
    );
    // The whole output on failure: the seed, the replay command and the violated invariants.
    assert.equal(code, 0, `chaos run failed (exit ${code}):\n${output.slice(-8_000)}`);
    const r = JSON.parse(readFileSync(report, 'utf8')) as ChaosReport;
    assert.equal(r.seed, SEED);
    assert.equal(r.violations, 0);
    assert.equal(r.checks.length, 10, 'all five invariants and all five history checks were checked');
    assert.ok(r.checks.every((c) => c.pass));
    assert.ok(r.quiescence.quiet);
    assert.equal(r.orders.acknowledged, 40);
    for (const [kind, n] of Object.entries(r.faults.byKind))
      assert.ok(n.injected >= 1, `fault ${kind} was never injected`);
    // Every process was killed and restarted at least once.
    for (const [name, starts] of Object.entries(r.restarts)) assert.ok(starts >= 2, `${name} was never restarted`);
    assert.ok(r.poison >= 1 && r.duplicates >= 1);
    for (const [point, c] of Object.entries(r.crashPoints)) assert.ok(c.hit >= 1, `crash point ${point} was never hit`);
  },
);

const orderId = '11111111-1111-4111-8111-111111111111';
const placedId = '22222222-2222-4222-8222-222222222222';

/**
 * The evidence of a one-order run that went wrong in four ways: charged twice, a unit of stock lost,
 * its placed event missing from the stream, and that event dead-lettered by a subscriber. The
 * order's own outcome (COMPLETED everywhere) is fine.
 */
function brokenRunEvidence(): Evidence {
  const chargeEnvelope = (id: string) => JSON.stringify({ id, data: { orderId, amountCents: 500 } });
  return {
    runs: [
      {
        plan: {
          index: 0,
          idempotencyKey: 'k0',
          atMs: 0,
          customerId: 'c',
          items: [{ sku: 'SKU-001', quantity: 1 }],
          method: 'pm_card_visa',
          country: 'DE',
          intent: 'complete',
          cancelAfterMs: 0,
        },
        orderId,
        placeStatus: 202,
        unexpected: [],
      },
    ],
    history: [{ atMs: 0, order: 0, op: 'place', attempt: 1, key: 'k0', status: 202, orderId }],
    db: {
      orders: [
        {
          id: orderId,
          status: 'COMPLETED',
          failure_reason: null,
          total_cents: '500',
          items: [{ sku: 'SKU-001', quantity: 1 }],
          steps: [{ state: 'COMPLETED' }],
        },
      ],
      queuedStarts: [],
      idempotencyKeys: [{ key: 'k0', order_id: orderId }],
      payments: [{ order_id: orderId, status: 'CHARGED', amount_cents: '500' }],
      providerCharges: [{ idempotency_key: `order:${orderId}:charge`, status: 'CHARGED', amount_cents: '500' }],
      products: [{ sku: 'SKU-001', available: 998, reserved: 0, shipped: 1 }],
      outbox: [
        { event_id: placedId, subject: 'checkout.order.placed', partition_key: orderId, published: true, body: '{}' },
        {
          event_id: '33333333-3333-4333-8333-333333333333',
          subject: 'payments.payment.charged',
          partition_key: orderId,
          published: true,
          body: chargeEnvelope('a'),
        },
        {
          event_id: '44444444-4444-4444-8444-444444444444',
          subject: 'payments.payment.charged',
          partition_key: orderId,
          published: true,
          body: chargeEnvelope('b'),
        },
      ],
      processed: [],
      seen: [],
      readOrders: [{ order_id: orderId, status: 'COMPLETED' }],
      notifications: [],
      parked: 0,
    },
    sagas: new Map([[orderId, { execution: 'COMPLETED', resultStatus: 'COMPLETED' }]]),
    initialStock: new Map([['SKU-001', 1000]]),
    events: [],
    dlq: [
      {
        stream: 'DLQ',
        seq: 1,
        subject: 'dlq.order-audit.checkout.order.placed',
        msgId: 'x',
        headers: { 'Dlq-Consumer': 'order-audit', 'Dlq-Original-Msg-Id': placedId },
        body: '{}',
      },
    ],
    consumers: [{ stream: 'CHECKOUT', name: 'order-audit', filters: ['checkout.>'], pending: 0, ackPending: 0 }],
    poison: [],
  };
}

describe('the chaos checker, on a run that went wrong in four ways', () => {
  const failed = Object.fromEntries(checkInvariants(brokenRunEvidence()).map((c) => [c.id, c.violations]));

  test('passes the order outcome, which is fine', () => {
    assert.ok(failed[1]?.length === 0, `order outcome is fine: ${failed[1]?.join('; ')}`);
  });

  test('reports the double charge', () => {
    assert.ok(
      failed[2]?.some((v) => v.includes('charged 2 times')),
      'double charge reported',
    );
  });

  test('reports the lost unit of stock', () => {
    assert.ok(
      failed[3]?.some((v) => v.includes('!= 1000')),
      'lost unit of stock reported',
    );
  });

  test('reports the event missing from the stream', () => {
    assert.ok(
      failed[4]?.some((v) => v.includes(`${placedId} (checkout.order.placed) is in stream CHECKOUT 0 times`)),
      'event missing from the stream reported',
    );
  });

  test('reports the real event in the DLQ as an unexpected dead letter', () => {
    assert.ok(
      failed[5]?.some((v) => v.startsWith('unexpected dead letter')),
      'a real event in the DLQ reported',
    );
  });
});
