import type { Tx } from './transaction';
import type { MessageInfo } from './types';

// The parking lot: events that arrived before a predecessor they need, kept until it is applied.

export interface ParkedEvent {
  eventId: string;
  orderId: string;
  eventType: string;
  waitingFor: string[];
  body: string;
  info: MessageInfo;
  parkedAt: Date;
}

interface ParkedRow {
  event_id: string;
  order_id: string;
  event_type: string;
  waiting_for: string[];
  subject: string;
  body: string;
  headers: Record<string, string[]>;
  stream: string;
  stream_seq: string;
  parked_at: Date;
}

function fromRow(r: ParkedRow): ParkedEvent {
  return {
    eventId: r.event_id,
    orderId: r.order_id,
    eventType: r.event_type,
    waitingFor: r.waiting_for,
    body: r.body,
    parkedAt: r.parked_at,
    info: {
      subject: r.subject,
      stream: r.stream,
      streamSequence: Number(r.stream_seq),
      deliveryCount: 1,
      headers: r.headers,
    },
  };
}

/** Parks an event until its predecessors are applied; parking the same event twice is a no-op. */
export async function park(
  tx: Tx,
  consumer: string,
  event: { id: string; subject: string; type: string },
  waitingFor: string[],
  body: string,
  info: MessageInfo,
): Promise<void> {
  await tx.query(
    `INSERT INTO parked_events (consumer, event_id, order_id, event_type, waiting_for, subject, body, headers, stream, stream_seq)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
    [
      consumer,
      event.id,
      event.subject,
      event.type,
      waitingFor,
      info.subject,
      body,
      JSON.stringify(info.headers),
      info.stream,
      info.streamSequence,
    ],
  );
}

/**
 * The order's parked events for this consumer, oldest first. Named like the inbox's statements: it
 * runs after every applied event of a consumer that parks.
 */
export async function parkedFor(tx: Tx, consumer: string, orderId: string): Promise<ParkedEvent[]> {
  const { rows } = await tx.query<ParkedRow>({
    name: 'kit-parked-for',
    text: `SELECT event_id, order_id, event_type, waiting_for, subject, body, headers, stream, stream_seq, parked_at
     FROM parked_events WHERE consumer = $1 AND order_id = $2 ORDER BY parked_at, stream_seq`,
    values: [consumer, orderId],
  });
  return rows.map(fromRow);
}

/** Parked events that have waited longer than `olderThanMs`, locked for this transaction. */
export async function expiredParked(
  tx: Tx,
  consumer: string,
  olderThanMs: number,
  limit: number,
): Promise<ParkedEvent[]> {
  const { rows } = await tx.query<ParkedRow>(
    `SELECT event_id, order_id, event_type, waiting_for, subject, body, headers, stream, stream_seq, parked_at
     FROM parked_events WHERE consumer = $1 AND parked_at < now() - make_interval(secs => $2)
     ORDER BY parked_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
    [consumer, olderThanMs / 1000, limit],
  );
  return rows.map(fromRow);
}

export async function unpark(tx: Tx, consumer: string, eventId: string): Promise<void> {
  await tx.query('DELETE FROM parked_events WHERE consumer = $1 AND event_id = $2', [consumer, eventId]);
}
