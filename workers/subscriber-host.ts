import { createConsumerMetrics, type ConsumerDeps, type EventConsumer } from 'checkout-saga/events';
import type { Config } from '../lib/config';
import { createDb } from '../lib/db';
import type { Logger } from '../lib/logger';
import { createProcessRegistry, startMetricsServer, type MetricsServer } from '../lib/metrics-server';
import { connectWhenReachable } from '../lib/connect-retry';
import { connectNats, declareStreams, isNatsUnreachable } from '../lib/nats';

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
 * stops pulling and finishes its in-flight handlers before the connection drains. With
 * METRICS_ADDRESS set the consumers' Prometheus metrics (outcomes, latency, pending, DLQ depth)
 * and the process metrics are served there.
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
  const nc = await connectWhenReachable('NATS', () => connectNats(config.nats, appName), isNatsUnreachable, {
    logger,
    signal,
  });
  const db = createDb(config.database.url, { max: 8, applicationName: appName });
  let metricsServer: MetricsServer | undefined;
  try {
    const registry = createProcessRegistry();
    const metrics = createConsumerMetrics(registry, (err, labels) =>
      logger.warn({ err, ...labels }, 'could not read consumer gauges for metrics'),
    );
    if (config.metrics.address)
      metricsServer = await startMetricsServer(config.metrics.address, registry, logger, signal);
    await declareStreams(nc, config.nats);
    const consumers = build({ nc, db, logger, metrics });
    await Promise.all(consumers.map((c) => c.run(signal)));
  } finally {
    await metricsServer?.close();
    await nc.drain();
    await db.end();
  }
}
