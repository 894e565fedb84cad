import type { Tx } from '../../lib/db';

/**
 * Deletes up to 10,000 rows published more than `retentionMs` ago.
 *
 * @returns how many rows were deleted.
 */
export async function deletePublishedRows(client: Tx, retentionMs: number): Promise<number> {
  const { rowCount } = await client.query(
    `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE published_at < now() - make_interval(secs => $1) LIMIT 10000)`,
    [retentionMs / 1000],
  );
  return rowCount ?? 0;
}
