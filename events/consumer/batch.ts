import type { JsMsg } from 'nats';
import pLimit from 'p-limit';
import type { EventType } from '../catalog';
import type { ParsedEvent } from '../envelope';
import { SpanKind, startMessagingSpan, type OpenSpan } from '../trace-context';
import { applyEvent } from './apply';
import { orderLockKey } from './inbox';
import type { ConsumerRuntime } from './runtime';
import type { StepHandler } from './settings';
import { infoOf, retryOrDeadLetter } from './settle';
import { withTransaction, type Tx } from './transaction';
import type { EventOf, Outcome } from './types';

// Batch mode: the events of one pull batch are applied in one transaction, their processed marks
// written (and duplicates filtered) by one statement, and acknowledged after the commit.

/** One delivered event of a batch, with its handler and its CONSUMER span. */
export interface BatchItem {
  msg: JsMsg;
  event: ParsedEvent;
  handler: StepHandler;
  body: string;
  startedAt: number;
  span: OpenSpan;
}

/** Starts the CONSUMER span of a batch item, as the per-event path does, without entering its context. */
export function batchItem(
  rt: ConsumerRuntime,
  msg: JsMsg,
  event: ParsedEvent,
  handler: StepHandler,
  body: string,
): BatchItem {
  const traceparent = msg.headers?.get('traceparent') || event.traceparent;
  const span = startMessagingSpan(`process ${msg.subject}`, SpanKind.CONSUMER, traceparent, () => ({
    'messaging.system': 'nats',
    'messaging.operation.type': 'process',
    'messaging.destination.name': msg.subject,
    'messaging.consumer.group.name': rt.settings.name,
    'messaging.message.delivery_count': msg.info.deliveryCount,
    'messaging.message.id': event.id,
    'checkout.order_id': event.subject,
  }));
  return { msg, event, handler, body, startedAt: performance.now(), span };
}

/**
 * Applies `items` (in delivery order) in one transaction and acknowledges them after the commit.
 * When the transaction fails, the batch is split in two halves applied one after the other, down
 * to the single event that fails, which is retried or dead-lettered like in per-event mode: one
 * poison event costs about 2·log2(batch) extra transactions and no savepoint (PostgreSQL stalls
 * beyond 64 subtransactions in one transaction), and the good events around it are applied.
 */
export async function settleBatch(rt: ConsumerRuntime, items: readonly BatchItem[]): Promise<void> {
  let outcomes: Outcome[];
  try {
    outcomes = await withTransaction(rt.db, (tx) => applyBatch(rt, tx, items));
  } catch (err) {
    if (items.length > 1) {
      const half = Math.ceil(items.length / 2);
      await settleBatch(rt, items.slice(0, half));
      await settleBatch(rt, items.slice(half));
      return;
    }
    const item = items[0] as BatchItem;
    item.span.end(err);
    const { event } = item;
    await retryOrDeadLetter(rt, { msg: item.msg, startedAt: item.startedAt }, err, {
      eventId: event.id,
      orderId: event.subject,
      type: event.type,
    });
    return;
  }
  for (const [i, item] of items.entries()) {
    const outcome = outcomes[i] as Outcome;
    await rt.settings.afterCommit?.(item.event, outcome);
    // A plain ack: the effects are committed, so a lost ack only costs a redelivery that the
    // processed mark turns into a duplicate.
    item.msg.ack();
    rt.tally.count(outcome, { msg: item.msg, startedAt: item.startedAt });
    const { event } = item;
    item.span.inContext(() =>
      rt.logger.debug({ eventId: event.id, orderId: event.subject, type: event.type, outcome }, `event ${outcome}`),
    );
    item.span.end();
  }
}

/**
 * The transaction of a batch: every order of the batch locked (sorted, one statement), duplicates
 * filtered and marks written, then the handlers run, one order's events after one another and up
 * to `concurrency` orders at once. Returns each item's outcome.
 */
async function applyBatch(rt: ConsumerRuntime, tx: Tx, items: readonly BatchItem[]): Promise<Outcome[]> {
  const name = rt.settings.name;
  const orders = [...new Set(items.map((i) => i.event.subject))].sort();
  await tx.query({
    name: 'kit-lock-orders',
    text: `SELECT pg_advisory_xact_lock(${orderLockKey('$1', 'o')}) FROM (SELECT unnest($2::text[]) AS o ORDER BY 1) AS s`,
    values: [name, orders],
  });
  const outcomes: Outcome[] = items.map(() => 'duplicate');
  // A second copy of an event in the same batch (a republish) is a duplicate of the first.
  const firstOf = new Map<string, number>();
  for (const [i, item] of items.entries()) if (!firstOf.has(item.event.id)) firstOf.set(item.event.id, i);
  const fresh = await freshEvents(
    rt,
    tx,
    [...firstOf.keys()].map((id) => items[firstOf.get(id) as number] as BatchItem),
  );
  const byOrder = new Map<string, number[]>();
  for (const [id, i] of firstOf) {
    if (!fresh.has(id)) continue;
    const key = (items[i] as BatchItem).event.subject;
    byOrder.set(key, [...(byOrder.get(key) ?? []), i]);
  }
  const limit = pLimit(rt.settings.concurrency);
  const shared = oneQueryAtATime(tx);
  let failed = false;
  // allSettled, not all: a handler still running after another failed must finish before the
  // ROLLBACK, or its next statements would run outside the transaction.
  const settled = await Promise.allSettled(
    [...byOrder.values()].map((indexes) =>
      limit(async () => {
        for (const i of indexes) {
          if (failed) return;
          const item = items[i] as BatchItem;
          try {
            outcomes[i] = await applyOne(rt, shared, item);
          } catch (err) {
            failed = true;
            throw err;
          }
        }
      }),
    ),
  );
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
  return outcomes;
}

/**
 * The transaction as the concurrent handlers of a batch share it: their statements go to the
 * connection one after another (pg queues them today, but deprecates a query issued while another
 * is running), each handler still awaiting only its own.
 */
function oneQueryAtATime(tx: Tx): Tx {
  let tail: Promise<unknown> = Promise.resolve();
  return new Proxy(tx, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (prop !== 'query' || typeof value !== 'function')
        return typeof value === 'function' ? value.bind(target) : value;
      return (...args: unknown[]) => {
        const run = tail.then(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
        tail = run.catch(() => undefined);
        return run;
      };
    },
  });
}

/**
 * The events of the batch not yet processed by this consumer, in one statement: for a consumer
 * that never parks, the marks are inserted right here (`ON CONFLICT DO NOTHING RETURNING` is the
 * duplicate filter); one that parks must decide per event whether to mark or park, so it only reads.
 */
async function freshEvents(rt: ConsumerRuntime, tx: Tx, unique: readonly BatchItem[]): Promise<Set<string>> {
  const name = rt.settings.name;
  const ids = unique.map((i) => i.event.id);
  if (!rt.settings.mayPark) {
    const { rows } = await tx.query<{ event_id: string }>({
      name: 'kit-mark-batch',
      text: `INSERT INTO processed_events (consumer, event_id, order_id, event_type)
             SELECT $1, e.id, e.order_id, e.type FROM unnest($2::uuid[], $3::text[], $4::text[]) AS e(id, order_id, type)
             ON CONFLICT DO NOTHING RETURNING event_id`,
      values: [name, ids, unique.map((i) => i.event.subject), unique.map((i) => i.event.type)],
    });
    return new Set(rows.map((r) => r.event_id));
  }
  const { rows } = await tx.query<{ event_id: string }>({
    name: 'kit-processed-of-batch',
    text: 'SELECT event_id FROM processed_events WHERE consumer = $1 AND event_id = ANY($2::uuid[])',
    values: [name, ids],
  });
  const done = new Set(rows.map((r) => r.event_id));
  return new Set(ids.filter((id) => !done.has(id)));
}

/** One fresh event: its handler alone when the mark is already written, else the per-event steps (park or mark). */
async function applyOne(rt: ConsumerRuntime, tx: Tx, item: BatchItem): Promise<Outcome> {
  if (rt.settings.mayPark) return applyEvent(rt, tx, item.event, item.handler, item.body, infoOf(item.msg));
  await item.handler.handle(item.event as EventOf<EventType>, { tx, message: infoOf(item.msg) });
  return 'applied';
}
