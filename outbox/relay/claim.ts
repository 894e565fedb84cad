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
 * The next rows to publish: the oldest unpublished rows of the given partitions that are not in
 * the relay's window (`skip`), in id order. Rows are read as "unpublished", never "id > last
 * seen", so a row whose transaction commits late is still picked up.
 */
export async function claimBatch(
  client: Tx,
  partitions: readonly number[],
  batchSize: number,
  skip: readonly string[] = [],
): Promise<OutboxRow[]> {
  const { rows } = await client.query<OutboxRow>({
    name: 'outbox-claim',
    text: CLAIM_SQL,
    values: claimValues(partitions, batchSize, skip),
  });
  return rows;
}

// Per partition, the oldest unpublished ids through the partial index (partition, id), then the
// oldest of those, and only then their rows: reading whole rows (envelopes) per partition read up
// to partitions x batch of them for one batch. Each partition contributes at most twice its fair
// share, so the cost stays bounded however large a backlog has grown.
/** The claim query (exported so `bench/claim-plan.ts` can EXPLAIN exactly it). */
export const CLAIM_SQL = `SELECT o.id, o.event_id, o.subject, o.partition_key, o.envelope::text AS body, o.headers, o.created_at
       FROM (SELECT c.id FROM unnest($1::smallint[]) AS owned(p)
             CROSS JOIN LATERAL (
               SELECT id FROM outbox
               WHERE published_at IS NULL AND partition = owned.p AND id <> ALL($4::bigint[])
               ORDER BY id LIMIT $3) AS c
             ORDER BY c.id LIMIT $2) AS picked
       JOIN outbox o ON o.id = picked.id
       ORDER BY o.id`;

/**
 * Planner settings of a relay's session (it runs nothing but the relay's own queries). With a
 * backlog that autoanalyze has not seen yet (a burst, the end of an outage), the planner expects
 * a few rows per partition and reads each with a bitmap heap scan and a sort: every unpublished
 * row of every partition, for every claim. Measured with 20,000 rows waiting: 19,417 buffers and
 * 30 ms per claim, so a drain cost grew with the square of the backlog. Without bitmap scans the
 * claim walks the (partition, id) index in order and stops after each partition's share.
 */
export const CLAIM_SESSION_SETTINGS = 'SET enable_bitmapscan = off';

/** The parameters of `CLAIM_SQL`. */
export function claimValues(partitions: readonly number[], batchSize: number, skip: readonly string[]): unknown[] {
  const perPartition = Math.min(batchSize, Math.max(8, Math.ceil((2 * batchSize) / Math.max(1, partitions.length))));
  return [partitions, batchSize, perPartition, skip];
}

/**
 * Marks acked rows published, in one statement for the group; a row already marked (by an
 * overlapping relay) is left as it is.
 */
export async function markPublished(client: Tx, ids: readonly string[]): Promise<void> {
  await client.query({
    name: 'outbox-mark-published',
    text: 'UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[]) AND published_at IS NULL',
    values: [ids],
  });
}
