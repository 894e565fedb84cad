import { headers as natsHeaders, type NatsConnection } from 'nats';
import type { Db } from '../../lib/db';
import { sleep } from '../../lib/wait';
import type { PoisonVariant } from './plan';
import type { Rng } from './rng';

/** A poison message as published: its subject and `Nats-Msg-Id` (what the DLQ must hold). */
export interface InjectedPoison {
  subject: string;
  msgId: string;
  variant: PoisonVariant;
}

/** A re-publication of a real event under a new `Nats-Msg-Id`. */
export interface InjectedDuplicate {
  eventId: string;
  subject: string;
  msgId: string;
}

function uuidFrom(rng: Rng): string {
  const hex = Array.from({ length: 32 }, () => rng.int(0, 15).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The body of a poison message: unparsable, a broken envelope, or a valid envelope with invalid data. */
export function poisonBody(variant: PoisonVariant, subject: string, rng: Rng): string {
  switch (variant) {
    case 'not-json':
      return `{"chaos": poison ${rng.int(0, 1e6)}`;
    case 'bad-envelope':
      return JSON.stringify({ specversion: '1.0', id: 'not-a-uuid', type: subject, data: { chaos: true } });
    case 'bad-data':
      return JSON.stringify({
        specversion: '1.0',
        id: uuidFrom(rng),
        type: subject,
        source: '/chaos',
        subject: uuidFrom(rng),
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        dataversion: 1,
        traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
        data: { orderId: 42, totalCents: 'lots' },
      });
  }
}

/**
 * Publishes until JetStream acknowledges it. A retry reuses the same `Nats-Msg-Id`, so a publish
 * whose ack was lost (NATS killed mid-request) is stored once, never twice: the DLQ expectation
 * stays exact.
 */
async function publishUntilAcked(
  nc: NatsConnection,
  subject: string,
  body: string,
  msgId: string,
  hdrs: Record<string, string>,
  deadline: number,
): Promise<void> {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(hdrs)) h.set(k, v);
  let delay = 200;
  for (;;) {
    try {
      await nc
        .jetstream()
        .publish(subject, new TextEncoder().encode(body), { msgID: msgId, headers: h, timeout: 5_000 });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`could not publish ${msgId} on ${subject}: ${(err as Error).message}`);
      await sleep(delay);
      delay = Math.min(delay * 2, 3_000);
    }
  }
}

/**
 * Publishes one poison message on a real event subject.
 *
 * @example
 * const poison = await publishPoison(nc, 'checkout.order.placed', 'bad-data', 'chaos-poison-1', rng, deadline);
 */
export async function publishPoison(
  nc: NatsConnection,
  subject: string,
  variant: PoisonVariant,
  msgId: string,
  rng: Rng,
  deadline: number,
): Promise<InjectedPoison> {
  await publishUntilAcked(
    nc,
    subject,
    poisonBody(variant, subject, rng),
    msgId,
    { 'Content-Type': 'application/cloudevents+json' },
    deadline,
  );
  return { subject, msgId, variant };
}

/**
 * Re-publishes an event already relayed (chosen by `pick` among the published outbox rows) once
 * per id of `msgIds`, all at once: JetStream stores each copy, back to back, so consumer
 * instances sharing a durable consumer get them at the same moment, and only the consumers'
 * processed marks stand between them and a second effect. Returns nothing when nothing is
 * published yet.
 */
export async function publishDuplicate(
  nc: NatsConnection,
  db: Db,
  pick: number,
  msgIds: readonly string[],
  deadline: number,
): Promise<InjectedDuplicate[]> {
  const { rows: count } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NOT NULL',
  );
  const n = count[0]?.n ?? 0;
  if (n === 0) return [];
  const { rows } = await db.query<{ event_id: string; subject: string; body: string; headers: Record<string, string> }>(
    'SELECT event_id, subject, envelope::text AS body, headers FROM outbox WHERE published_at IS NOT NULL ORDER BY id OFFSET $1 LIMIT 1',
    [pick % n],
  );
  const row = rows[0];
  if (!row) return [];
  const headers = { 'Content-Type': 'application/cloudevents+json', ...row.headers };
  await Promise.all(msgIds.map((id) => publishUntilAcked(nc, row.subject, row.body, id, headers, deadline)));
  return msgIds.map((msgId) => ({ eventId: row.event_id, subject: row.subject, msgId }));
}
