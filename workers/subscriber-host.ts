import { fileURLToPath } from 'node:url';
import { createConsumerMetrics, type ConsumerDeps, type EventConsumer } from 'checkout-saga/events';
import type { Config } from '../lib/config';
import { createCrashPoints } from '../lib/crash-points';
import { createDb } from '../lib/db';
import type { Logger } from '../lib/logger';
import { runIfMain } from '../lib/main';
import { createProcessRegistry, startMetricsServer, type MetricsServer } from '../lib/metrics-server';
import { connectWhenReachable } from '../lib/connect-retry';
import { connectNats, isNatsUnreachable } from '../lib/nats';
import type { ConsumerPlacement, Subscriber } from '../subscribers/definition';
import { SUBSCRIBERS } from '../subscribers/index';

/**
 * Process scaffolding of every subscriber: one Postgres pool and one NATS
 * connection, the consumers run until `signal` aborts (the streams are the relay's to declare: a
 * subscriber started first retries its consumer until they exist); then every consumer
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
  const db = createDb(config.database.url, { max: 8, applicationName: appName, timeouts: config.database.timeouts });
  let metricsServer: MetricsServer | undefined;
  try {
    const registry = createProcessRegistry();
    const metrics = createConsumerMetrics(registry, (err, labels) =>
      logger.warn({ err, ...labels }, 'could not read consumer gauges for metrics'),
    );
    if (config.metrics.address)
      metricsServer = await startMetricsServer(config.metrics.address, registry, logger, signal);
    const consumers = build({ nc, db, logger, metrics });
    await Promise.all(consumers.map((c) => c.run(signal)));
  } finally {
    await metricsServer?.close();
    await nc.drain();
    await db.end();
  }
}

/**
 * Runs one subscriber in this process until `signal` aborts (see {@link hostConsumers}).
 *
 * @example
 * await runSubscriber(readModel, config, logger, signal, { name: 'e2e-read-model', deliverFrom: since });
 */
export async function runSubscriber(
  subscriber: Subscriber,
  config: Config,
  logger: Logger,
  signal: AbortSignal,
  placement: ConsumerPlacement = {},
): Promise<void> {
  await hostConsumers(config, logger, signal, subscriber.appName, (deps) =>
    subscriber.consumers(deps, {
      config,
      logger,
      placement,
      ...(config.crashPoints.length > 0
        ? {
            crashPoints: createCrashPoints(config.crashPoints, (name) =>
              logger.warn({ crashPoint: name }, 'crash point reached: dying'),
            ),
          }
        : {}),
    }),
  );
}

/**
 * Runs `subscriber` as the process when the module at `moduleUrl` is the entry point: what each
 * named entry point in workers/ does.
 *
 * @example
 * await runSubscriberIfMain(import.meta.url, readModel);
 */
export async function runSubscriberIfMain(moduleUrl: string, subscriber: Subscriber): Promise<void> {
  await runIfMain(moduleUrl, subscriber.name, (config, logger, signal) =>
    runSubscriber(subscriber, config, logger, signal),
  );
}

// As an entry point, `node --import tsx workers/subscriber-host.ts <name>` runs one subscriber of
// subscribers/index.ts by name: how `npm start` runs every subscriber of that table.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const subscriber = SUBSCRIBERS.find((s) => s.name === process.argv[2]);
  if (!subscriber) {
    console.error(`usage: workers/subscriber-host.ts <${SUBSCRIBERS.map((s) => s.name).join(' | ')}>`);
    process.exit(2);
  }
  await runSubscriberIfMain(import.meta.url, subscriber);
}
