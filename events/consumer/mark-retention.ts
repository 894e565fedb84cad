import type { ConsumerMessages } from 'nats';
import type { ConsumerRuntime } from './runtime';
import { sleep } from './sleep';
import type { Db } from './transaction';

// Retention of processed marks. A mark only has to outlive every way the same event can come back:
// the broker's duplicate window (2 h by default here), redeliveries (maxDeliver x backoff, minutes),
// a replay of the stream (its max age: 7 days by default here) and a DLQ replay (a dead letter was
// never applied, so it has no mark to need). Kept longer, marks only make every lookup and insert
// walk a larger index, and the table grows with every event for as long as the system runs.

/** Default retention: the stream's 7-day max age plus a day. */
export const DEFAULT_MARK_RETENTION_MS = 8 * 86_400_000;
/** Rows one DELETE removes: small enough to hold its locks for milliseconds. */
export const MARK_SWEEP_BATCH = 1_000;
const SWEEP_EVERY_MS = 60_000;
/** Batches per round; the rest waits for the next round, so a first sweep of a large table is spread out. */
const BATCHES_PER_ROUND = 50;
const PAUSE_BETWEEN_BATCHES_MS = 20;

/**
 * Deletes up to `batch` marks of `consumer` older than `olderThanMs`; rows locked by a concurrent
 * sweep (another instance) are skipped. Uses the BRIN index on `processed_at`.
 *
 * @returns how many marks were deleted.
 * @example
 * await sweepProcessedMarks(db, 'order-audit', DEFAULT_MARK_RETENTION_MS);
 */
export async function sweepProcessedMarks(
  db: Db,
  consumer: string,
  olderThanMs: number,
  batch = MARK_SWEEP_BATCH,
): Promise<number> {
  const { rowCount } = await db.query({
    name: 'kit-sweep-marks',
    text: `DELETE FROM processed_events WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM processed_events
             WHERE consumer = $1 AND processed_at < now() - make_interval(secs => $2)
             LIMIT $3 FOR UPDATE SKIP LOCKED))`,
    values: [consumer, olderThanMs / 1000, batch],
  });
  return rowCount ?? 0;
}

/**
 * Until `signal` aborts or `messages` closes, sweeps this consumer's expired marks once a minute,
 * in batches with a pause between them, each batch its own statement (never one long transaction
 * beside the handlers'). Reports every round to the metrics.
 */
export async function runMarkSweeper(
  rt: ConsumerRuntime,
  signal: AbortSignal,
  messages: ConsumerMessages,
): Promise<void> {
  const retentionMs = rt.settings.markRetentionMs;
  if (retentionMs === undefined) return;
  const closed = new AbortController();
  void messages.closed().finally(() => closed.abort());
  const either = AbortSignal.any([signal, closed.signal]);
  const labels = { consumer: rt.settings.name, stream: rt.settings.stream };
  while (!either.aborted) {
    await sleep(SWEEP_EVERY_MS, either);
    if (either.aborted) break;
    const started = performance.now();
    let deleted = 0;
    try {
      for (let i = 0; i < BATCHES_PER_ROUND && !either.aborted; i += 1) {
        const n = await sweepProcessedMarks(rt.db, rt.settings.name, retentionMs);
        deleted += n;
        if (n < MARK_SWEEP_BATCH) break;
        await sleep(PAUSE_BETWEEN_BATCHES_MS, either);
      }
      rt.metrics.marksSwept?.(labels, deleted, (performance.now() - started) / 1000);
      if (deleted > 0) rt.logger.debug({ deleted }, 'expired processed marks deleted');
    } catch (err) {
      rt.metrics.marksSwept?.(labels, deleted, (performance.now() - started) / 1000);
      rt.logger.warn({ err, deleted }, 'could not sweep processed marks; will retry');
    }
  }
}
