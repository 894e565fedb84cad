import { streamFor } from '../../events/streams';
import { DLQ_HEADERS } from '../../events/dead-letters/publish';
import type { HistoryEntry } from './client';
import { subjectMatches, type ConsumerInfo, type DbSnapshot, type SagaOutcome, type StoredMessage } from './collect';
import type { InjectedPoison } from './messages';
import type { InitialStock } from './stack';
import type { OrderRun } from './workload';

/** The outcome of one invariant: pass when `violations` is empty. */
export interface CheckResult {
  id: number;
  name: string;
  violations: string[];
  /** What was checked, e.g. "412 orders, 2 311 events". */
  covered: string;
}

/** Everything the invariants are evaluated on. */
export interface Evidence {
  runs: OrderRun[];
  history: HistoryEntry[];
  db: DbSnapshot;
  sagas: Map<string, SagaOutcome>;
  initialStock: InitialStock;
  /** Messages of the event streams (CHECKOUT, INVENTORY, PAYMENTS, SHIPPING). */
  events: StoredMessage[];
  dlq: StoredMessage[];
  consumers: ConsumerInfo[];
  poison: InjectedPoison[];
}

const TERMINAL = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

function count<K>(items: Iterable<K>): Map<K, number> {
  const m = new Map<K, number>();
  for (const k of items) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

/** Whether any step of the order ran (a saga took it); all SKIPPED means it ended before its saga started. */
function startedSteps(o: { steps: { state: string }[] }): boolean {
  return o.steps.some((s) => s.state !== 'SKIPPED');
}

function outcomeOf(o: { status: string; failure_reason: string | null }): string {
  return o.failure_reason ? `${o.status}/${o.failure_reason}` : o.status;
}

/** A request that went out and got no final answer: it may or may not have taken effect. */
function indeterminate(sent: boolean | undefined, status: number | undefined): boolean {
  return sent === true && status === undefined;
}

/** A 3-D Secure order: the answer's outcome when it was accepted, the timeout when it was not. */
function confirmed(run: OrderRun, answered: string): string[] {
  if (run.confirmStatus === 202) return [answered];
  const timeout = 'FAILED/PAYMENT_CONFIRMATION_TIMEOUT';
  return indeterminate(run.confirmSent, run.confirmStatus) ? [answered, timeout] : [timeout];
}

/** The outcomes a correct system may give this order, from what the client asked and was told. */
export function expectedOutcomes(run: OrderRun): string[] {
  const { intent } = run.plan;
  switch (intent) {
    case 'complete':
      return ['COMPLETED'];
    case 'declined':
      return ['FAILED/PAYMENT_DECLINED'];
    case 'unshippable':
      return ['FAILED/SHIPPING_UNAVAILABLE'];
    case 'scarce':
      return ['COMPLETED', 'FAILED/OUT_OF_STOCK'];
    case '3ds-timeout':
      return ['FAILED/PAYMENT_CONFIRMATION_TIMEOUT'];
    case '3ds-approve':
      return confirmed(run, 'COMPLETED');
    case '3ds-refuse':
      return confirmed(run, 'FAILED/PAYMENT_DECLINED');
    case 'cancel':
      // 409: it had shipped (or ended) before the cancel arrived. Sent but never answered: the
      // cancel may have reached the saga (an update the server delivered after the API gave up).
      if (run.cancelStatus === 202) return ['CANCELLED'];
      return indeterminate(run.cancelSent, run.cancelStatus) ? ['CANCELLED', 'COMPLETED'] : ['COMPLETED'];
  }
}

/** 1. Every accepted order ended; every 2xx is a real order; outcomes match what the client did. */
function ordersEnded(e: Evidence): CheckResult {
  const v: string[] = [];
  const byId = new Map(e.db.orders.map((o) => [o.id, o]));
  const acked = new Set<string>();
  for (const run of e.runs) {
    if (run.placeStatus === undefined)
      v.push(`order #${run.plan.index}: the client never got a final answer to POST /checkouts`);
    for (const u of run.unexpected) v.push(`order #${run.plan.index}: ${u}`);
    if (!run.orderId) continue;
    acked.add(run.orderId);
    const o = byId.get(run.orderId);
    if (!o) {
      v.push(`order #${run.plan.index}: 202 for ${run.orderId}, which does not exist`);
      continue;
    }
    if (!TERMINAL.has(o.status)) v.push(`order ${o.id} (#${run.plan.index}) is still ${o.status}`);
    else if (!expectedOutcomes(run).includes(outcomeOf(o))) {
      v.push(
        `order ${o.id} (#${run.plan.index}, ${run.plan.intent}, cancel ${run.cancelStatus ?? '-'}, confirm ${run.confirmStatus ?? '-'}) ended ${outcomeOf(o)}, expected ${expectedOutcomes(run).join(' or ')}`,
      );
    }
    const saga = e.sagas.get(o.id);
    // An order cancelled before its saga started has no saga, and needs none.
    const cancelledBeforeStart = saga?.execution === 'NOT_FOUND' && o.status === 'CANCELLED' && !startedSteps(o);
    if (cancelledBeforeStart) continue;
    if (saga?.execution !== 'COMPLETED') v.push(`order ${o.id}: saga execution is ${saga?.execution ?? 'unknown'}`);
    else if (saga.resultStatus !== o.status)
      v.push(`order ${o.id}: saga ended ${saga.resultStatus ?? '?'} but the order row says ${o.status}`);
  }
  for (const o of e.db.orders)
    if (!acked.has(o.id)) v.push(`order ${o.id} exists but no client was acknowledged with it`);
  for (const id of e.db.queuedStarts) v.push(`order ${id} is still waiting for its saga to start`);
  const idsByKey = new Map<string, Set<string>>();
  for (const h of e.history) {
    if (h.op !== 'place' || h.status !== 202 || !h.key || !h.orderId) continue;
    const ids = idsByKey.get(h.key) ?? new Set<string>();
    ids.add(h.orderId);
    idsByKey.set(h.key, ids);
  }
  for (const [key, ids] of idsByKey)
    if (ids.size > 1) v.push(`Idempotency-Key ${key} answered with ${ids.size} different orders`);
  for (const [key, n] of count(e.db.idempotencyKeys.map((k) => k.key)))
    if (n > 1) v.push(`Idempotency-Key ${key} stored ${n} times`);
  return {
    id: 1,
    name: 'accepted orders ended; every 2xx is a real order',
    violations: v,
    covered: `${acked.size} acknowledged orders, ${e.db.orders.length} in the database`,
  };
}

interface MoneyEvent {
  type: string;
  orderId: string;
  amountCents: number;
}

function moneyEvents(e: Evidence): MoneyEvent[] {
  return e.db.outbox
    .filter((r) => r.subject === 'payments.payment.charged' || r.subject === 'payments.payment.refunded')
    .map((r) => {
      const env = JSON.parse(r.body) as { data: { orderId: string; amountCents: number } };
      return { type: r.subject, orderId: env.data.orderId, amountCents: env.data.amountCents };
    });
}

/** 2. At most one charge per order; refunds exactly for charged orders that did not complete; the money adds up. */
function moneyAddsUp(e: Evidence): CheckResult {
  const v: string[] = [];
  const events = moneyEvents(e);
  const charged = count(events.filter((x) => x.type === 'payments.payment.charged').map((x) => x.orderId));
  const refunded = count(events.filter((x) => x.type === 'payments.payment.refunded').map((x) => x.orderId));
  const provider = new Map(e.db.providerCharges.map((c) => [c.idempotency_key, c]));
  const payments = new Map(e.db.payments.map((p) => [p.order_id, p]));
  let completedTotal = 0;
  for (const o of e.db.orders) {
    const c = charged.get(o.id) ?? 0;
    const r = refunded.get(o.id) ?? 0;
    if (c > 1) v.push(`order ${o.id} charged ${c} times`);
    if (r > 1) v.push(`order ${o.id} refunded ${r} times`);
    const ledger = provider.get(`order:${o.id}:charge`);
    const providerCharged = ledger?.status === 'CHARGED' || ledger?.status === 'REFUNDED';
    const payment = payments.get(o.id);
    if (o.status === 'COMPLETED') {
      completedTotal += Number(o.total_cents);
      if (ledger?.status !== 'CHARGED' || payment?.status !== 'CHARGED' || c !== 1 || r !== 0) {
        v.push(
          `completed order ${o.id}: provider ${ledger?.status ?? 'none'}, payment ${payment?.status ?? 'none'}, ${c} charge / ${r} refund events`,
        );
      }
    } else if (providerCharged) {
      if (ledger?.status !== 'REFUNDED' || payment?.status !== 'REFUNDED' || c !== 1 || r !== 1) {
        v.push(
          `${o.status} order ${o.id} was charged: provider ${ledger?.status}, payment ${payment?.status ?? 'none'}, ${c} charge / ${r} refund events`,
        );
      }
    } else if (c !== 0 || r !== 0 || payment?.status === 'CHARGED' || payment?.status === 'REFUNDED') {
      v.push(
        `${o.status} order ${o.id} never charged by the provider but payment ${payment?.status ?? 'none'}, ${c} charge / ${r} refund events`,
      );
    }
  }
  const net = events.reduce((s, x) => s + (x.type === 'payments.payment.charged' ? x.amountCents : -x.amountCents), 0);
  if (net !== completedTotal)
    v.push(`charges minus refunds = ${net} cents, completed orders total ${completedTotal} cents`);
  const ledgerNet = e.db.providerCharges
    .filter((c) => c.status === 'CHARGED')
    .reduce((s, c) => s + Number(c.amount_cents), 0);
  if (ledgerNet !== completedTotal)
    v.push(`the provider holds ${ledgerNet} cents, completed orders total ${completedTotal} cents`);
  return {
    id: 2,
    name: 'at most one charge; refunds exactly for charged, not completed orders; money adds up',
    violations: v,
    covered: `${[...charged.values()].reduce((a, b) => a + b, 0)} charges, ${[...refunded.values()].reduce((a, b) => a + b, 0)} refunds, ${completedTotal} cents completed`,
  };
}

/** 3. Stock conserved per SKU, never negative; nothing left reserved; shipped = completed quantities. */
function stockConserved(e: Evidence): CheckResult {
  const v: string[] = [];
  const shippedBySku = new Map<string, number>();
  for (const o of e.db.orders) {
    if (o.status !== 'COMPLETED') continue;
    for (const i of o.items) shippedBySku.set(i.sku, (shippedBySku.get(i.sku) ?? 0) + i.quantity);
  }
  for (const p of e.db.products) {
    const initial = e.initialStock.get(p.sku);
    if (initial === undefined) v.push(`SKU ${p.sku} appeared during the run`);
    else if (p.available + p.reserved + p.shipped !== initial)
      v.push(
        `SKU ${p.sku}: ${p.available} available + ${p.reserved} reserved + ${p.shipped} shipped != ${initial} initially`,
      );
    if (p.available < 0 || p.reserved < 0 || p.shipped < 0) v.push(`SKU ${p.sku} has a negative count`);
    if (p.reserved !== 0) v.push(`SKU ${p.sku}: ${p.reserved} still reserved after every saga closed`);
    if (p.shipped !== (shippedBySku.get(p.sku) ?? 0))
      v.push(`SKU ${p.sku}: ${p.shipped} shipped but completed orders hold ${shippedBySku.get(p.sku) ?? 0}`);
  }
  return {
    id: 3,
    name: 'stock conserved per SKU (initial = available + reserved + shipped), never negative',
    violations: v,
    covered: `${e.db.products.length} SKUs`,
  };
}

/** 4. Every committed event is in JetStream once; each subscriber applied each of its events once; the read model agrees. */
function eventsDelivered(e: Evidence): CheckResult {
  const v: string[] = [];
  const outboxIds = new Set(e.db.outbox.map((r) => r.event_id));
  const byMsgId = count(e.events.filter((m) => m.msgId && !m.msgId.startsWith('chaos-')).map((m) => m.msgId as string));
  for (const r of e.db.outbox) {
    if (!r.published) v.push(`event ${r.event_id} (${r.subject}) never marked published`);
    const n = byMsgId.get(r.event_id) ?? 0;
    if (n !== 1) v.push(`event ${r.event_id} (${r.subject}) is in stream ${streamFor(r.subject)} ${n} times`);
  }
  for (const id of byMsgId.keys())
    if (!outboxIds.has(id)) v.push(`stream message ${id} matches no committed outbox row`);
  const processed = count(e.db.processed.map((p) => `${p.consumer}/${p.event_id}`));
  const names = new Set(e.consumers.map((c) => c.name));
  for (const name of names) {
    const mine = e.consumers.filter((c) => c.name === name);
    const expected = e.db.outbox.filter((r) =>
      mine.some((c) => c.stream === streamFor(r.subject) && c.filters.some((f) => subjectMatches(f, r.subject))),
    );
    const expectedIds = new Set(expected.map((r) => r.event_id));
    for (const r of expected)
      if ((processed.get(`${name}/${r.event_id}`) ?? 0) !== 1)
        v.push(`${name} did not apply ${r.subject} ${r.event_id}`);
    for (const p of e.db.processed)
      if (p.consumer === name && !expectedIds.has(p.event_id))
        v.push(`${name} applied ${p.event_id}, which is no committed event of its subjects`);
  }
  const seen = count(e.db.seen.map((s) => s.event_id));
  for (const r of e.db.outbox)
    if ((seen.get(r.event_id) ?? 0) !== 1) v.push(`audit recorded ${r.event_id} ${seen.get(r.event_id) ?? 0} times`);
  for (const id of seen.keys()) if (!outboxIds.has(id)) v.push(`audit recorded ${id}, which is no committed event`);
  const orders = new Map(e.db.orders.map((o) => [o.id, o]));
  const read = new Map(e.db.readOrders.map((r) => [r.order_id, r]));
  for (const o of e.db.orders) {
    if (read.get(o.id)?.status !== o.status)
      v.push(`read model says ${read.get(o.id)?.status ?? 'nothing'} for order ${o.id}, the saga ${o.status}`);
  }
  for (const id of read.keys()) if (!orders.has(id)) v.push(`read model has unknown order ${id}`);
  // A failed order has two terminal events while checkout.order.failed v1 is published beside v2.
  const terminalEvents = new Map<string, Set<string>>();
  for (const r of e.db.outbox) {
    if (!/^checkout\.order\.(completed|cancelled|failed)$/.test(r.subject)) continue;
    terminalEvents.set(r.partition_key, (terminalEvents.get(r.partition_key) ?? new Set()).add(r.event_id));
  }
  const notified = new Map(e.db.notifications.map((n) => [n.order_id, n]));
  for (const o of e.db.orders) {
    const n = notified.get(o.id);
    if (!n) v.push(`no notification for ${o.status} order ${o.id}`);
    else if (n.kind !== `ORDER_${o.status}` || !terminalEvents.get(o.id)?.has(n.event_id))
      v.push(`notification of order ${o.id} is ${n.kind} from ${n.event_id}`);
  }
  if (e.db.parked > 0) v.push(`${e.db.parked} events still parked`);
  return {
    id: 4,
    name: 'every committed event reached JetStream; each subscriber applied each event once; read model agrees',
    violations: v,
    covered: `${e.db.outbox.length} events, ${names.size} subscribers, ${e.db.readOrders.length} read-model rows`,
  };
}

/** 5. The DLQ holds exactly the injected poison, once per consumer that receives its subject. */
function dlqExact(e: Evidence): CheckResult {
  const v: string[] = [];
  const expected = new Map<string, number>();
  for (const p of e.poison) {
    const stream = streamFor(p.subject);
    const consumers = new Set(
      e.consumers
        .filter((c) => c.stream === stream && c.filters.some((f) => subjectMatches(f, p.subject)))
        .map((c) => c.name),
    );
    for (const c of consumers) expected.set(`${c} ${p.msgId}`, 1);
  }
  const actual = count(
    e.dlq.map((m) => `${m.headers[DLQ_HEADERS.consumer] ?? '?'} ${m.headers[DLQ_HEADERS.originalMsgId] ?? '?'}`),
  );
  for (const [k] of expected) if (!actual.has(k)) v.push(`missing dead letter: ${k}`);
  for (const [k, n] of actual) {
    if (!expected.has(k)) v.push(`unexpected dead letter: ${k}`);
    else if (n > 1) v.push(`dead letter ${k} stored ${n} times`);
  }
  return {
    id: 5,
    name: 'the DLQ holds exactly the injected poison',
    violations: v,
    covered: `${e.poison.length} poison messages, ${expected.size} expected dead letters, ${e.dlq.length} stored`,
  };
}

/**
 * Evaluates invariants 1-5 of the chaos issue on the collected evidence.
 *
 * @example
 * const results = checkInvariants(evidence);
 * const violations = results.reduce((n, r) => n + r.violations.length, 0);
 */
export function checkInvariants(e: Evidence): CheckResult[] {
  return [ordersEnded(e), moneyAddsUp(e), stockConserved(e), eventsDelivered(e), dlqExact(e)];
}
