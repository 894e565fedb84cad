import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { JetStreamManager, NatsConnection } from 'nats';
import { TEAMS } from '../../access/teams';
import { checkoutWorkflowId } from '../../domain/order';
import type { Db } from '../../lib/db';
import { STREAMS } from '../../events/streams';

/** A message as stored in a stream. */
export interface StoredMessage {
  stream: string;
  seq: number;
  subject: string;
  msgId: string | undefined;
  headers: Record<string, string>;
  body: string;
}

/** A durable consumer as JetStream knows it. */
export interface ConsumerInfo {
  stream: string;
  name: string;
  filters: string[];
  pending: number;
  ackPending: number;
}

const decoder = new TextDecoder();

/**
 * Every message of a stream, read with an ordered (ephemeral, unacknowledged) consumer, so the
 * durable consumers under test are not touched.
 *
 * @example
 * const messages = await readStream(nc, jsm, 'CHECKOUT');
 */
export async function readStream(nc: NatsConnection, jsm: JetStreamManager, stream: string): Promise<StoredMessage[]> {
  const info = await jsm.streams.info(stream);
  if (info.state.messages === 0) return [];
  const consumer = await nc.jetstream().consumers.get(stream);
  const messages = await consumer.consume({ max_messages: 500 });
  const out: StoredMessage[] = [];
  try {
    for await (const m of messages) {
      const headers: Record<string, string> = {};
      if (m.headers) for (const [k, vs] of m.headers) headers[k] = vs.join(',');
      out.push({
        stream,
        seq: m.seq,
        subject: m.subject,
        msgId: m.headers?.get('Nats-Msg-Id') || undefined,
        headers,
        body: decoder.decode(m.data),
      });
      if (m.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
  return out;
}

/** Durables the relay declares for other teams (access/teams.ts): their readers are not in the chaos stack. */
const TEAM_DURABLES: ReadonlySet<string> = new Set(TEAMS.flatMap((t) => t.durables.map((d) => d.name)));

/**
 * Every durable consumer of every stream that the checkout's own subscribers read, with its
 * filters and backlog (other teams' durables stay unread here, by design).
 */
export async function listConsumers(jsm: JetStreamManager): Promise<ConsumerInfo[]> {
  const out: ConsumerInfo[] = [];
  for (const s of STREAMS) {
    const infos = await jsm.consumers.list(s.name).next();
    for (const c of infos) {
      if (!c.config.durable_name || TEAM_DURABLES.has(c.name)) continue;
      const filters =
        c.config.filter_subjects ?? (c.config.filter_subject ? [c.config.filter_subject] : [...s.subjects]);
      out.push({ stream: s.name, name: c.name, filters, pending: c.num_pending, ackPending: c.num_ack_pending });
    }
  }
  return out;
}

/** NATS subject matching: `*` is one token, `>` the rest. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}

/** What the database holds after the run, as the checker needs it. */
export interface DbSnapshot {
  orders: {
    id: string;
    status: string;
    failure_reason: string | null;
    total_cents: string;
    items: { sku: string; quantity: number }[];
    steps: { state: string }[];
  }[];
  /** Orders whose saga start is still queued: none, once the run has healed. */
  queuedStarts: string[];
  idempotencyKeys: { key: string; order_id: string }[];
  payments: { order_id: string; status: string; amount_cents: string }[];
  providerCharges: { idempotency_key: string; status: string; amount_cents: string }[];
  products: { sku: string; available: number; reserved: number; shipped: number }[];
  outbox: { event_id: string; subject: string; partition_key: string; published: boolean; body: string }[];
  processed: { consumer: string; event_id: string }[];
  seen: { consumer: string; event_id: string }[];
  readOrders: { order_id: string; status: string }[];
  notifications: { order_id: string; kind: string; event_id: string }[];
  parked: number;
}

/** Reads every table the invariants are about. */
export async function snapshotDb(db: Db): Promise<DbSnapshot> {
  const q = async <T>(sql: string): Promise<T[]> => (await db.query(sql)).rows as T[];
  return {
    orders: await q('SELECT id, status, failure_reason, total_cents, items, steps FROM orders'),
    queuedStarts: (await q<{ order_id: string }>('SELECT order_id FROM saga_starts')).map((r) => r.order_id),
    idempotencyKeys: await q('SELECT key, order_id FROM idempotency_keys'),
    payments: await q('SELECT order_id, status, amount_cents FROM payments'),
    providerCharges: await q('SELECT idempotency_key, status, amount_cents FROM sim_provider_charges'),
    products: await q('SELECT sku, available, reserved, shipped FROM products'),
    outbox: await q(
      'SELECT event_id, subject, partition_key, published_at IS NOT NULL AS published, envelope::text AS body FROM outbox ORDER BY id',
    ),
    processed: await q('SELECT consumer, event_id FROM processed_events'),
    seen: await q('SELECT consumer, event_id FROM seen_events'),
    readOrders: await q('SELECT order_id, status FROM read_orders'),
    notifications: await q('SELECT order_id, kind, event_id FROM notifications'),
    parked: Number((await q<{ n: string }>('SELECT count(*) AS n FROM parked_events'))[0]?.n ?? 0),
  };
}

/** When each ended order took its final status, in ms since `since` (the runner's and the database's clocks are the same machine's). */
export async function orderEndTimes(db: Db, since: number): Promise<Map<string, number>> {
  const { rows } = await db.query<{ id: string; at: string }>(
    `SELECT id, (extract(epoch FROM updated_at) * 1000)::bigint AS at FROM orders WHERE status IN ('COMPLETED', 'CANCELLED', 'FAILED')`,
  );
  return new Map(rows.map((r) => [r.id, Number(r.at) - since]));
}

/** How Temporal ended each order's saga: execution status and the status in its result. */
export interface SagaOutcome {
  execution: string;
  resultStatus?: string;
}

/** Describes every order's workflow (and reads the result of the completed ones). */
export async function sagaOutcomes(client: Client, orderIds: readonly string[]): Promise<Map<string, SagaOutcome>> {
  const out = new Map<string, SagaOutcome>();
  for (const id of orderIds) {
    const handle = client.workflow.getHandle(checkoutWorkflowId(id));
    try {
      const d = await handle.describe();
      const execution = d.status.name;
      if (execution === 'COMPLETED') {
        const result = (await handle.result()) as { status?: string };
        out.set(id, { execution, resultStatus: result.status });
      } else {
        out.set(id, { execution });
      }
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      out.set(id, { execution: 'NOT_FOUND' });
    }
  }
  return out;
}
