/**
 * The history checker: what the operation history (operations.jsonl) proves beside the end-state
 * invariants of invariants.ts. Pure functions over the recorded events, so a unit test can feed
 * it made-up histories.
 */
import { streamFor } from '../../events/streams';
import { subjectMatches, type ConsumerInfo } from './collect';
import type { CheckResult } from './invariants';
import type { OpEvent } from './oplog';

const TERMINAL = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);
const FINISHED_STEP = new Set(['COMPLETED', 'FAILED', 'SKIPPED']);

/** Percentiles of a lag, in milliseconds; `n` orders measured. */
export interface LagStats {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** What the history is checked against, besides itself. */
export interface HistoryEvidence {
  events: readonly OpEvent[];
  /** Each order's status in the database once the run is quiet. */
  finalStatus: ReadonlyMap<string, string>;
  /**
   * When (the history's clock) each ended order's row took its final status; the end lag is
   * measured from it, or from the first client read that saw the end when an order has none.
   */
  endedAtMs?: ReadonlyMap<string, number>;
  /** Which subscriber should have applied which event (the committed events of its subjects). */
  expectedDeliveries: readonly { subscriber: string; eventId: string }[];
  /** Each application of an event by a subscriber, as its effects record it (one row each). */
  applied: readonly { subscriber: string; eventId: string }[];
  /** A read-model lag longer than this is a violation. */
  maxLagMs: number;
  /** When (ms, the history's clock) every fault had been healed and every process was back. */
  healedAtMs: number;
}

export interface HistoryCheck {
  checks: CheckResult[];
  readModelLag: { placed: LagStats; ended: LagStats };
}

interface Read {
  invokedAt: number;
  answeredAt: number;
  status: string;
  steps: Map<string, string>;
}

/** Percentiles by the nearest-rank method. */
export function lagStats(values: readonly number[]): LagStats {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? 0;
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? 0 };
}

function invokeTimes(events: readonly OpEvent[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const e of events) if (e.type === 'invoke') m.set(e.id, e.t);
  return m;
}

/** Acknowledged orders: a placement answered 2xx with an order id, at the time of the answer. */
function acknowledged(events: readonly OpEvent[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events) {
    if (e.op !== 'place' || e.type !== 'ok' || !e.orderId) continue;
    if (!m.has(e.orderId)) m.set(e.orderId, e.t);
  }
  return m;
}

function readsByOrder(events: readonly OpEvent[]): Map<string, Read[]> {
  const invoked = invokeTimes(events);
  const m = new Map<string, Read[]>();
  for (const e of events) {
    if (e.op !== 'get' || e.type !== 'ok' || !e.orderId || !e.orderStatus) continue;
    const steps = new Map((e.steps ?? []).map((s) => s.split('=') as [string, string]));
    const reads = m.get(e.orderId) ?? [];
    reads.push({ invokedAt: invoked.get(e.id) ?? e.t, answeredAt: e.t, status: e.orderStatus, steps });
    m.set(e.orderId, reads);
  }
  return m;
}

/** 6. Every order a client was acknowledged with has ended. */
function acknowledgedEnded(h: HistoryEvidence): CheckResult {
  const v: string[] = [];
  const acked = acknowledged(h.events);
  for (const id of acked.keys()) {
    const status = h.finalStatus.get(id);
    if (status === undefined) v.push(`acknowledged order ${id} does not exist`);
    else if (!TERMINAL.has(status)) v.push(`acknowledged order ${id} never ended: still ${status}`);
  }
  return {
    id: 6,
    name: 'history: every acknowledged order ends',
    violations: v,
    covered: `${acked.size} acknowledged`,
  };
}

/** What a later read `b` contradicts in an earlier one `a` (answered before `b` was sent). */
function wentBack(a: Read, b: Read): string | undefined {
  if (TERMINAL.has(a.status) && b.status !== a.status) return `status ${a.status} then ${b.status}`;
  for (const [step, state] of a.steps) {
    const later = b.steps.get(step);
    if (FINISHED_STEP.has(state) && later !== undefined && later !== state)
      return `step ${step} ${state} then ${later}`;
  }
  return undefined;
}

/** 7. A status read never goes back: no terminal status changes, no finished step un-happens. */
function readsMonotonic(h: HistoryEvidence): CheckResult {
  const v: string[] = [];
  let n = 0;
  for (const [orderId, reads] of readsByOrder(h.events)) {
    n += reads.length;
    const found = new Set<string>();
    for (const b of reads) {
      for (const a of reads) {
        if (a.answeredAt >= b.invokedAt) continue;
        const why = wentBack(a, b);
        if (why && !found.has(why)) {
          found.add(why);
          v.push(`order ${orderId}: read at ${a.answeredAt}ms, read at ${b.answeredAt}ms: ${why}`);
        }
      }
    }
    const terminal = reads.find((r) => TERMINAL.has(r.status));
    const final = h.finalStatus.get(orderId);
    if (terminal && final !== undefined && final !== terminal.status)
      v.push(`order ${orderId}: a read saw ${terminal.status}, the order ended ${final}`);
  }
  return { id: 7, name: 'history: a status read never goes back', violations: v, covered: `${n} status reads` };
}

/** First time (ms) the read-model watch saw each order, and saw it terminal. */
function readModelSightings(events: readonly OpEvent[]): { placed: Map<string, number>; ended: Map<string, number> } {
  const placed = new Map<string, number>();
  const ended = new Map<string, number>();
  for (const e of events) {
    if (e.op !== 'read-model' || e.type !== 'ok' || !e.orderId) continue;
    if (!placed.has(e.orderId)) placed.set(e.orderId, e.t);
    if (e.orderStatus && TERMINAL.has(e.orderStatus) && !ended.has(e.orderId)) ended.set(e.orderId, e.t);
  }
  return { placed, ended };
}

/** First time a client read saw each order terminal. */
function firstTerminalReads(events: readonly OpEvent[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const [orderId, reads] of readsByOrder(events)) {
    const t = reads.filter((r) => TERMINAL.has(r.status)).map((r) => r.answeredAt);
    if (t.length > 0) m.set(orderId, Math.min(...t));
  }
  return m;
}

/** 8. The read model shows each acknowledged order, and its end, within `maxLagMs`. */
function readModelLag(h: HistoryEvidence): { check: CheckResult; placed: LagStats; ended: LagStats } {
  const v: string[] = [];
  const seen = readModelSightings(h.events);
  const placedLags: number[] = [];
  for (const [id, ackAt] of acknowledged(h.events)) {
    const at = seen.placed.get(id);
    if (at === undefined) {
      v.push(`the read model never showed acknowledged order ${id}`);
      continue;
    }
    const lag = Math.max(0, at - ackAt);
    placedLags.push(lag);
    if (lag > h.maxLagMs) v.push(`the read model showed order ${id} ${lag}ms after its acknowledgement`);
  }
  const endedLags: number[] = [];
  const endedAt = new Map(firstTerminalReads(h.events));
  for (const [id, t] of h.endedAtMs ?? []) endedAt.set(id, t);
  for (const [id, readAt] of endedAt) {
    const at = seen.ended.get(id);
    if (at === undefined) {
      v.push(`the read model never showed the end of order ${id}`);
      continue;
    }
    const lag = Math.max(0, at - readAt);
    endedLags.push(lag);
    if (lag > h.maxLagMs) v.push(`the read model showed the end of order ${id} ${lag}ms after it ended`);
  }
  const placed = lagStats(placedLags);
  const ended = lagStats(endedLags);
  return {
    check: {
      id: 8,
      name: `history: the read model shows each order within ${h.maxLagMs / 1000}s`,
      violations: v,
      covered: `lag placed p50 ${placed.p50}ms p99 ${placed.p99}ms, ended p50 ${ended.p50}ms p99 ${ended.p99}ms`,
    },
    placed,
    ended,
  };
}

/** 9. No event lost or applied twice, per subscriber. */
function deliveredOnce(h: HistoryEvidence): CheckResult {
  const v: string[] = [];
  const applied = new Map<string, number>();
  for (const a of h.applied) {
    const k = `${a.subscriber} ${a.eventId}`;
    applied.set(k, (applied.get(k) ?? 0) + 1);
  }
  const expected = new Set(h.expectedDeliveries.map((d) => `${d.subscriber} ${d.eventId}`));
  for (const k of expected) if (!applied.has(k)) v.push(`lost: ${k}`);
  for (const [k, n] of applied) {
    if (n > 1) v.push(`applied ${n} times: ${k}`);
    if (!expected.has(k)) v.push(`applied but never committed for it: ${k}`);
  }
  return {
    id: 9,
    name: 'history: no event lost or applied twice per subscriber',
    violations: v,
    covered: `${expected.size} deliveries`,
  };
}

/**
 * Each application of an event, from the most direct record there is: the audit subscriber's
 * `seen_events` rows (`auditConsumer`'s effect, one row per application and no unique key, so a
 * second application is a second row), and for the other subscribers the kit's processed marks.
 * Those marks are keyed by (consumer, event id), so for them check 9 can find a lost event but
 * never a doubled one; the read model's and the notifications' effects are upserts (one row per
 * order), which cannot show one either.
 *
 * @example
 * const applied = appliedFromEffects(snapshot.processed, snapshot.seen, AUDIT_CONSUMER);
 */
export function appliedFromEffects(
  processed: readonly { consumer: string; event_id: string }[],
  seen: readonly { consumer: string; event_id: string }[],
  auditConsumer: string,
): { subscriber: string; eventId: string }[] {
  return [
    ...seen.map((r) => ({ subscriber: r.consumer, eventId: r.event_id })),
    ...processed
      .filter((p) => p.consumer !== auditConsumer)
      .map((p) => ({ subscriber: p.consumer, eventId: p.event_id })),
  ];
}

/** Which subscriber must apply which committed event: each durable consumer whose filters match it. */
export function expectedDeliveries(
  outbox: readonly { event_id: string; subject: string }[],
  consumers: readonly ConsumerInfo[],
): { subscriber: string; eventId: string }[] {
  const out = new Map<string, { subscriber: string; eventId: string }>();
  for (const r of outbox) {
    for (const c of consumers) {
      if (c.stream !== streamFor(r.subject) || !c.filters.some((f) => subjectMatches(f, r.subject))) continue;
      out.set(`${c.name} ${r.event_id}`, { subscriber: c.name, eventId: r.event_id });
    }
  }
  return [...out.values()];
}

/** Grace after the heal for retries already in their backoff. */
const ANSWER_GRACE_MS = 30_000;

/**
 * 10. Once healed, every request gets a final answer: an operation still unanswered well after
 * the heal was refused (5xx) or dropped by a healthy system, which a client cannot tell from a loss.
 */
function answeredOnceHealed(h: HistoryEvidence): CheckResult {
  const v: string[] = [];
  const invoked = invokeTimes(h.events);
  let n = 0;
  for (const e of h.events) {
    if (e.type === 'invoke' || e.op === 'read-model') continue;
    n += 1;
    if (e.type !== 'unknown' || e.t < h.healedAtMs + ANSWER_GRACE_MS) continue;
    const since = invoked.get(e.id) ?? e.t;
    v.push(
      `${e.op} of order #${e.order}${e.orderId ? ` (${e.orderId})` : ''}: no final answer from ${since}ms to ${e.t}ms`,
    );
  }
  return {
    id: 10,
    name: 'history: once healed, every request gets a final answer',
    violations: v,
    covered: `${n} operations`,
  };
}

/**
 * Checks the operation history of a run.
 *
 * @example
 * const { checks, readModelLag } = checkHistory({ events: ops.events, finalStatus, expectedDeliveries, applied, maxLagMs: 30_000 });
 */
export function checkHistory(h: HistoryEvidence): HistoryCheck {
  const lag = readModelLag(h);
  return {
    checks: [acknowledgedEnded(h), readsMonotonic(h), lag.check, deliveredOnce(h), answeredOnceHealed(h)],
    readModelLag: { placed: lag.placed, ended: lag.ended },
  };
}
