import { AckPolicy, DeliverPolicy, nanos, type JsMsg, type NatsConnection } from 'nats';
import { orderLockKey } from '../events/consumer/inbox';
import { parseEvent, type ParsedEvent } from '../events/envelope';
import { withTransaction, type Db, type Tx } from '../lib/db';

/** What a grouped run did. */
export interface GroupedOutcome {
  /** Messages acknowledged (effects applied, duplicates included). */
  settled: number;
  applied: number;
  duplicates: number;
  /** Deliveries after the first (a dropped group comes back after ack_wait). */
  redelivered: number;
  groups: number;
}

export interface GroupedOptions {
  name: string;
  stream: string;
  filterSubject: string;
  /** Stop after this many messages were settled. */
  total: number;
  groupSize: number;
  ackWaitMs: number;
  /** Simulates a crash between COMMIT and the acks: this group's messages are never acknowledged. */
  dropAcksOfGroup?: number;
  /** The effect, in the group's transaction (called once per event not yet processed). */
  effect: (tx: Tx, event: ParsedEvent, streamSequence: number) => Promise<void>;
}

/**
 * The experiment of scenario 3: the consumer kit's exactly-once rule (effects and processed
 * marks in one transaction, ack only after the commit) applied to a whole fetched group at once,
 * with the marks checked and written by one statement each. Groups run one after another, in
 * stream order, so an order's events keep their order. Bench code, not the product's kit: it has
 * no parking, retries or dead letters.
 *
 * @example
 * const outcome = await runGrouped({ nc, db }, { name: 'bench-grouped', stream: 'CHECKOUT', filterSubject: 'checkout.order.placed', total: 1000, groupSize: 100, ackWaitMs: 30_000, effect });
 */
export async function runGrouped(
  deps: { nc: NatsConnection; db: Db },
  options: GroupedOptions,
): Promise<GroupedOutcome> {
  const jsm = await deps.nc.jetstreamManager();
  await jsm.consumers.add(options.stream, {
    durable_name: options.name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subjects: [options.filterSubject],
    ack_wait: nanos(options.ackWaitMs),
    max_ack_pending: Math.max(256, options.groupSize * 2),
  });
  const consumer = await deps.nc.jetstream().consumers.get(options.stream, options.name);
  const outcome: GroupedOutcome = { settled: 0, applied: 0, duplicates: 0, redelivered: 0, groups: 0 };
  const decoder = new TextDecoder();
  while (outcome.settled < options.total) {
    const batch = await consumer.fetch({ max_messages: options.groupSize, expires: 1000 });
    const messages: JsMsg[] = [];
    for await (const msg of batch) messages.push(msg);
    if (messages.length === 0) continue;
    const group = outcome.groups;
    outcome.groups += 1;
    const events = messages.map((msg) => {
      if (msg.info.deliveryCount > 1) outcome.redelivered += 1;
      const parsed = parseEvent(decoder.decode(msg.data));
      if (!parsed.ok) throw new Error(`bench event ${msg.info.streamSequence} does not parse: ${parsed.message}`);
      return { event: parsed.event, seq: msg.info.streamSequence };
    });
    const applied = await withTransaction(deps.db, (tx) => applyGroup(tx, options, events));
    outcome.applied += applied;
    outcome.duplicates += messages.length - applied;
    if (group === options.dropAcksOfGroup) continue;
    await Promise.all(messages.map((m) => m.ackAck()));
    outcome.settled += messages.length;
  }
  await jsm.consumers.delete(options.stream, options.name);
  return outcome;
}

async function applyGroup(
  tx: Tx,
  options: GroupedOptions,
  events: { event: ParsedEvent; seq: number }[],
): Promise<number> {
  const orders = [...new Set(events.map((e) => e.event.subject))].sort();
  // The kit's per-(consumer, order) lock, taken in one sorted pass so two groups cannot deadlock.
  await tx.query(
    `SELECT pg_advisory_xact_lock(${orderLockKey('$1', 'o')}) FROM (SELECT o FROM unnest($2::text[]) AS o ORDER BY o) AS sorted`,
    [options.name, orders],
  );
  const { rows } = await tx.query<{ event_id: string }>(
    'SELECT event_id FROM processed_events WHERE consumer = $1 AND event_id = ANY($2::uuid[])',
    [options.name, events.map((e) => e.event.id)],
  );
  const seen = new Set(rows.map((r) => r.event_id));
  const fresh: { event: ParsedEvent; seq: number }[] = [];
  for (const e of events) {
    if (seen.has(e.event.id)) continue;
    seen.add(e.event.id);
    fresh.push(e);
  }
  if (fresh.length === 0) return 0;
  await tx.query(
    'INSERT INTO processed_events (consumer, event_id, order_id, event_type) SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[])',
    [options.name, fresh.map((e) => e.event.id), fresh.map((e) => e.event.subject), fresh.map((e) => e.event.type)],
  );
  for (const e of fresh) await options.effect(tx, e.event, e.seq);
  return fresh.length;
}
