import type { ConsumerDeps, EventConsumer } from 'checkout-saga/events';
import type { Config } from '../lib/config';
import { createDb } from '../lib/db';
import type { Logger } from '../lib/logger';
import { connectNats, declareStreams } from '../lib/nats';

/**
 * Where a subscriber's durable consumer sits: its name (default: the subscriber's own) and, for a
 * new consumer, the earliest message time. Tests use both to run beside a live deployment.
 */
export interface ConsumerPlacement {
  name?: string;
  deliverFrom?: Date;
}

/**
 * Process scaffolding shared by the example subscribers: one Postgres pool and one NATS
 * connection, the streams declared, the consumers run until `signal` aborts; then every consumer
 * stops pulling and finishes its in-flight handlers before the connection drains.
 *
 * @example
 * await hostConsumers(config, logger, signal, 'notifications', (deps) => [createConsumer(deps, options)]);
 */
export async function hostConsumers(
  config: Config,
  logger: Logger,
  signal: AbortSignal,
  appName: string,
  build: (deps: ConsumerDeps) => EventConsumer[],
): Promise<void> {
  const db = createDb(config.database.url, { max: 8, applicationName: appName });
  const nc = await connectNats(config.nats, appName);
  try {
    await declareStreams(nc, config.nats);
    const consumers = build({ nc, db, logger });
    await Promise.all(consumers.map((c) => c.run(signal)));
  } finally {
    await nc.drain();
    await db.end();
  }
}
