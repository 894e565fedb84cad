import { runConsumer } from '../events/consumer';
import { STREAMS } from '../events/streams';
import type { Config } from '../lib/config';
import { createDb } from '../lib/db';
import type { Logger } from '../lib/logger';
import { runIfMain } from '../lib/main';
import { connectNats, declareStreams } from '../lib/nats';

/** Durable name of the example subscriber's consumers (one per service stream). */
export const AUDIT_CONSUMER = 'order-audit';

/**
 * Example subscriber, written as another team would: it records every event it sees, once,
 * through the idempotent consumer helper.
 *
 * @example
 * await runAuditSubscriber(loadConfig(), logger, signal);
 */
export async function runAuditSubscriber(config: Config, logger: Logger, signal: AbortSignal): Promise<void> {
  const db = createDb(config.database.url, { max: 4, applicationName: 'checkout-audit-subscriber' });
  const nc = await connectNats(config.nats, 'checkout-audit-subscriber');
  try {
    await declareStreams(nc, config.nats);
    await Promise.all(
      STREAMS.filter((s) => s.name !== 'DLQ').map((stream) =>
        runConsumer(
          { nc, db, logger },
          { name: AUDIT_CONSUMER, stream: stream.name, filterSubjects: [...stream.subjects] },
          async (event, { tx, msg }) => {
            await tx.query(
              'INSERT INTO seen_events (consumer, event_id, subject, order_id, stream_seq) VALUES ($1, $2, $3, $4, $5)',
              [AUDIT_CONSUMER, event.id, event.type, event.subject, msg.info.streamSequence],
            );
          },
          signal,
        ),
      ),
    );
  } finally {
    await nc.drain();
    await db.end();
  }
}

await runIfMain(import.meta.url, 'audit-subscriber', runAuditSubscriber);
