import { durationToMs, type Config } from '../lib/config';
import { createDb } from '../lib/db';
import type { Logger } from '../lib/logger';
import { runIfMain } from '../lib/main';
import { connectNats, declareStreams } from '../lib/nats';
import { OutboxRelay } from '../outbox/relay';

/**
 * The outbox relay process: declares the streams, then publishes the outbox partitions it owns
 * until `signal` aborts, finishing the batch in flight and draining the NATS connection. Run as
 * many as needed; they share the partitions among themselves.
 *
 * @example
 * await runRelay(loadConfig(), logger, signal);
 */
export async function runRelay(config: Config, logger: Logger, signal: AbortSignal): Promise<void> {
  const db = createDb(config.database.url, { max: 2, applicationName: 'checkout-outbox-relay' });
  const nc = await connectNats(config.nats, 'checkout-outbox-relay');
  try {
    await declareStreams(nc, config.nats);
    const relay = new OutboxRelay(
      { db, js: nc.jetstream(), logger },
      {
        batchSize: config.relay.batchSize,
        pollIntervalMs: durationToMs(config.relay.pollInterval),
        rebalanceIntervalMs: durationToMs(config.relay.rebalanceInterval),
        publishTimeoutMs: 5_000,
        retentionMs: 86_400_000,
      },
    );
    await relay.run(signal);
  } finally {
    await nc.drain();
    await db.end();
  }
}

await runIfMain(import.meta.url, 'outbox-relay', runRelay);
