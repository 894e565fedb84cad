import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appliedFromEffects, checkHistory, lagStats, type HistoryEvidence } from '../../scripts/chaos/history-check';
import type { OpEvent } from '../../scripts/chaos/oplog';

const A = '00000000-0000-4000-8000-00000000000a';
const STEPS_DONE = ['reserveStock:FORWARD=COMPLETED', 'chargePayment:FORWARD=COMPLETED'];

/** Builds a history: each op is an invoke at `at` and its completion at `at + 10`. */
function history(ops: (Omit<OpEvent, 't' | 'id' | 'type'> & { at: number; type: OpEvent['type'] })[]): OpEvent[] {
  const out: OpEvent[] = [];
  ops.forEach(({ at, type, ...fields }, i) => {
    out.push({ t: at, id: i + 1, type: 'invoke', op: fields.op, order: fields.order, key: fields.key });
    out.push({ t: at + 10, id: i + 1, type, ...fields });
  });
  return out;
}

/** A clean run of one order: placed, read while shipping, read completed, seen by the read model. */
function clean(overrides: Partial<HistoryEvidence> = {}): HistoryEvidence {
  return {
    events: history([
      { at: 0, type: 'ok', op: 'place', order: 1, key: 'k1', orderId: A, status: 202 },
      { at: 100, type: 'ok', op: 'read-model', order: -1, orderId: A, orderStatus: 'PENDING' },
      { at: 200, type: 'ok', op: 'get', order: 1, orderId: A, orderStatus: 'SHIPPING', steps: STEPS_DONE },
      { at: 400, type: 'ok', op: 'get', order: 1, orderId: A, orderStatus: 'COMPLETED', steps: STEPS_DONE },
      { at: 500, type: 'ok', op: 'read-model', order: -1, orderId: A, orderStatus: 'COMPLETED' },
    ]),
    finalStatus: new Map([[A, 'COMPLETED']]),
    expectedDeliveries: [
      { subscriber: 'read-model', eventId: 'e1' },
      { subscriber: 'audit', eventId: 'e1' },
    ],
    applied: [
      { subscriber: 'read-model', eventId: 'e1' },
      { subscriber: 'audit', eventId: 'e1' },
    ],
    maxLagMs: 1_000,
    healedAtMs: 600,
    ...overrides,
  };
}

function violations(h: HistoryEvidence): Map<number, string[]> {
  return new Map(checkHistory(h).checks.map((c) => [c.id, c.violations]));
}

/** Asserts that exactly check `id` reports, with a message matching `pattern`. */
function reportsOnly(h: HistoryEvidence, id: number, pattern: RegExp): void {
  for (const [check, v] of violations(h)) {
    if (check === id)
      assert.ok(
        v.some((x) => pattern.test(x)),
        `check ${id}: ${JSON.stringify(v)}`,
      );
    else assert.deepEqual(v, [], `check ${check} should pass`);
  }
}

describe('chaos history checker', () => {
  it('reports nothing on a clean history, and measures the read-model lag', () => {
    for (const [id, v] of violations(clean())) assert.deepEqual(v, [], `check ${id}`);
    const lag = checkHistory(clean()).readModelLag;
    assert.equal(lag.placed.n, 1);
    assert.equal(lag.placed.p50, 100);
    assert.equal(lag.ended.p99, 100);
    // Measured from the row's end when known: the read model showed the end at 510ms.
    const fromRow = checkHistory(clean({ endedAtMs: new Map([[A, 300]]) })).readModelLag;
    assert.equal(fromRow.ended.p50, 210);
  });

  it('reports an acknowledged order that never ended', () => {
    const stuck = clean({ finalStatus: new Map([[A, 'SHIPPING']]) });
    stuck.events = stuck.events.filter((e) => e.orderStatus !== 'COMPLETED' && e.id !== 4 && e.id !== 5);
    reportsOnly(stuck, 6, /never ended: still SHIPPING/);
    const v = violations(clean({ finalStatus: new Map() }));
    assert.ok(v.get(6)?.some((x) => /does not exist/.test(x)));
  });

  it('reports a terminal status that changes between two reads', () => {
    const h = clean();
    h.events = h.events.concat(
      history([
        { at: 900, type: 'ok', op: 'get', order: 1, orderId: A, orderStatus: 'SHIPPING', steps: STEPS_DONE },
      ]).map((e) => ({ ...e, id: 99 })),
    );
    reportsOnly(h, 7, /status COMPLETED then SHIPPING/);
  });

  it('reports a step that un-happens, but not reads that overlap in time', () => {
    const undone = ['reserveStock:FORWARD=COMPLETED', 'chargePayment:FORWARD=RUNNING'];
    const late = clean();
    late.events = late.events.concat(
      history([{ at: 300, type: 'ok', op: 'get', order: 1, orderId: A, orderStatus: 'SHIPPING', steps: undone }]).map(
        (e) => ({ ...e, id: 99 }),
      ),
    );
    reportsOnly(late, 7, /step chargePayment:FORWARD COMPLETED then RUNNING/);
    // Sent at 205, before the read answered at 210: the two reads are concurrent, either order is fine.
    const overlapping = clean();
    overlapping.events = overlapping.events.concat(
      history([{ at: 205, type: 'ok', op: 'get', order: 1, orderId: A, orderStatus: 'SHIPPING', steps: undone }]).map(
        (e) => ({ ...e, id: 99 }),
      ),
    );
    for (const [id, v] of violations(overlapping)) assert.deepEqual(v, [], `check ${id}`);
  });

  it('reports a final status that contradicts what a read saw', () => {
    const v = violations(clean({ finalStatus: new Map([[A, 'CANCELLED']]) }));
    assert.ok(v.get(7)?.some((x) => /a read saw COMPLETED, the order ended CANCELLED/.test(x)));
  });

  it('reports an order the read model never showed, or showed too late', () => {
    const never = clean();
    never.events = never.events.filter((e) => e.op !== 'read-model');
    reportsOnly(never, 8, /never showed acknowledged order/);
    reportsOnly(clean({ maxLagMs: 50 }), 8, /showed order .* 100ms after/);
  });

  it('reports an event lost, applied twice, or applied without being committed', () => {
    const base = clean();
    reportsOnly(clean({ applied: [base.applied[0]!] }), 9, /lost: audit e1/);
    reportsOnly(clean({ applied: [...base.applied, base.applied[1]!] }), 9, /applied 2 times: audit e1/);
    reportsOnly(
      clean({ applied: [...base.applied, { subscriber: 'audit', eventId: 'e2' }] }),
      9,
      /never committed for it: audit e2/,
    );
  });

  it('counts the audit subscriber by its effect rows, so a doubled application shows though its mark is single', () => {
    const processed = [
      { consumer: 'read-model', event_id: 'e1' },
      { consumer: 'audit', event_id: 'e1' },
    ];
    // Two seen_events rows for one event (the table has no unique key), one processed mark.
    const seen = [
      { consumer: 'audit', event_id: 'e1' },
      { consumer: 'audit', event_id: 'e1' },
    ];
    reportsOnly(clean({ applied: appliedFromEffects(processed, seen, 'audit') }), 9, /applied 2 times: audit e1/);
    // A processed mark without its effect row is a lost application, not a delivered one.
    reportsOnly(clean({ applied: appliedFromEffects(processed, [], 'audit') }), 9, /lost: audit e1/);
    assert.deepEqual(
      checkHistory(clean({ applied: appliedFromEffects(processed, seen.slice(1), 'audit') })).checks.find(
        (c) => c.id === 9,
      )?.violations,
      [],
    );
  });

  it('reports a request still unanswered well after the heal, not one given up on during the faults', () => {
    const h = clean();
    h.events = h.events.concat(
      history([{ at: 40_000, type: 'unknown', op: 'cancel', order: 1, key: 'cancel-k1', orderId: A }]).map((e) => ({
        ...e,
        id: 99,
      })),
    );
    reportsOnly(h, 10, /cancel of order #1 .*no final answer/);
    h.healedAtMs = 20_000;
    for (const [id, v] of violations(h)) assert.deepEqual(v, [], `check ${id}`);
  });

  it('computes nearest-rank percentiles', () => {
    const s = lagStats(Array.from({ length: 100 }, (_, i) => i + 1));
    assert.deepEqual(s, { n: 100, p50: 50, p99: 99, max: 100 });
    assert.deepEqual(lagStats([]), { n: 0, p50: 0, p99: 0, max: 0 });
  });
});
