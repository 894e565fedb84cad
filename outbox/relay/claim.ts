import type { Tx } from '../../lib/db';

/** An outbox row as the relay publishes it. */
export interface OutboxRow {
  id: string;
  event_id: string;
  subject: string;
  /** The order id: rows with one key publish one after another, in id order. */
  partition_key: string;
  body: string;
  headers: Record<string, string>;
  created_at: Date;
}

/**
 * The next batch: the oldest unpublished rows of the given partitions, in id order. Rows are read
 * as "unpublished", never "id > last seen", so a row whose transaction commits late is still
 * picked up.
 */
export async function claimBatch(client: Tx, partitions: readonly number[], batchSize: number): Promise<OutboxRow[]> {
  // Per partition, the oldest unpublished rows through (partition, id), then the oldest of
  // those: the cost is bounded by partitions x batch, however large a backlog has grown.
  const { rows } = await client.query<OutboxRow>(
    `SELECT o.id, o.event_id, o.subject, o.partition_key, o.envelope::text AS body, o.headers, o.created_at
       FROM unnest($1::smallint[]) AS owned(p)
       CROSS JOIN LATERAL (
         SELECT id, event_id, subject, partition_key, envelope, headers, created_at FROM outbox
         WHERE published_at IS NULL AND partition = owned.p
         ORDER BY id LIMIT $2) AS o
       ORDER BY o.id LIMIT $2`,
    [partitions, batchSize],
  );
  return rows;
}

/** Marks acked rows published; a row already marked (by an overlapping relay) is left as it is. */
export async function markPublished(client: Tx, ids: readonly string[]): Promise<void> {
  await client.query(
    'UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[]) AND published_at IS NULL',
    [ids],
  );
}
