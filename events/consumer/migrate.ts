import { withTransaction, type Db } from './transaction';

/**
 * The consumer kit's tables, as SQL for Postgres: `processed_events` (the inbox: one row per event
 * a consumer applied, committed with the handler's effects) and `parked_events` (events waiting
 * for a predecessor). Idempotent and cheap to re-run: an object that exists is left alone, so no
 * lock is taken on a table running consumers use. Apply it with `migrateConsumerKit`, or paste it
 * into your own migration tool.
 */
export const CONSUMER_KIT_SCHEMA = `
CREATE TABLE IF NOT EXISTS processed_events (
  consumer      text NOT NULL,
  event_id      uuid NOT NULL,
  processed_at  timestamptz NOT NULL DEFAULT now(),
  -- Which order and type the event was, so a handler's predecessors can be checked per order.
  -- Marks written before these columns existed have NULLs and count only for deduplication.
  order_id      text,
  event_type    text,
  PRIMARY KEY (consumer, event_id)
);

CREATE TABLE IF NOT EXISTS parked_events (
  consumer      text NOT NULL,
  event_id      uuid NOT NULL,
  order_id      text NOT NULL,
  event_type    text NOT NULL,
  waiting_for   text[] NOT NULL,
  subject       text NOT NULL,
  body          text NOT NULL,
  headers       jsonb NOT NULL DEFAULT '{}',
  stream        text NOT NULL,
  stream_seq    bigint NOT NULL,
  parked_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

DO $$
BEGIN
  -- A processed_events table from before the kit tracked orders gets the two columns.
  IF NOT EXISTS (SELECT 1 FROM pg_attribute
                 WHERE attrelid = to_regclass('processed_events') AND attname = 'order_id' AND NOT attisdropped) THEN
    ALTER TABLE processed_events ADD COLUMN IF NOT EXISTS order_id text, ADD COLUMN IF NOT EXISTS event_type text;
  END IF;
  IF to_regclass('processed_events_order_idx') IS NULL THEN
    CREATE INDEX processed_events_order_idx ON processed_events (consumer, order_id, event_type) WHERE order_id IS NOT NULL;
  END IF;
  IF to_regclass('parked_events_order_idx') IS NULL THEN
    CREATE INDEX parked_events_order_idx ON parked_events (consumer, order_id);
  END IF;
  IF to_regclass('parked_events_age_idx') IS NULL THEN
    CREATE INDEX parked_events_age_idx ON parked_events (parked_at);
  END IF;
  -- For the retention sweep. BRIN: marks are written in time order, so a block-range summary finds
  -- the old ones and costs the hot path's inserts next to nothing (a btree would be updated by each).
  IF to_regclass('processed_events_processed_at_brin') IS NULL THEN
    CREATE INDEX processed_events_processed_at_brin ON processed_events USING brin (processed_at);
  END IF;
END
$$;
`;

/** Arbitrary constant key, so concurrent callers (several instances starting) take turns. */
const KIT_MIGRATION_LOCK_KEY = 0x6b69_7473;

/**
 * Creates the consumer kit's tables where they are missing ({@link CONSUMER_KIT_SCHEMA}), in one
 * transaction. Safe to call at every start, from several processes at once, and on a database
 * that already has the tables.
 *
 * @example
 * await migrateConsumerKit(db);
 * await createConsumer({ nc, db, logger }, options).run(signal);
 */
export async function migrateConsumerKit(db: Db): Promise<void> {
  await withTransaction(db, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [KIT_MIGRATION_LOCK_KEY]);
    await tx.query(CONSUMER_KIT_SCHEMA);
  });
}
