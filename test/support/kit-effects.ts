import type { ParsedEvent } from '../../events/envelope';
import type { Db, Tx } from '../../lib/db';

/** The effect a test consumer has: one row per application of an event. */
export async function createEffectsTable(db: Db): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS kit_test_effects (
    seq bigserial PRIMARY KEY, consumer text NOT NULL, event_id uuid NOT NULL, order_id text NOT NULL, type text NOT NULL)`);
  await db.query('ALTER TABLE kit_test_effects ADD COLUMN IF NOT EXISTS stream_seq bigint');
}

export async function recordEffect(tx: Tx, consumer: string, event: ParsedEvent, streamSeq?: number): Promise<void> {
  await tx.query(
    'INSERT INTO kit_test_effects (consumer, event_id, order_id, type, stream_seq) VALUES ($1, $2, $3, $4, $5)',
    [consumer, event.id, event.subject, event.type, streamSeq ?? null],
  );
}

/** Effects of `consumer`, in the order they were applied. */
export async function effectsOf(
  db: Db,
  consumer: string,
): Promise<{ event_id: string; order_id: string; type: string; stream_seq: string | null }[]> {
  const { rows } = await db.query<{ event_id: string; order_id: string; type: string; stream_seq: string | null }>(
    'SELECT event_id, order_id, type, stream_seq FROM kit_test_effects WHERE consumer = $1 ORDER BY seq',
    [consumer],
  );
  return rows;
}
