import type { Client } from '@temporalio/client';
import { createSagaClient } from '../checkouts/saga-client';
import { durationToMs, type Config } from '../lib/config';
import { createCrashPoints } from '../lib/crash-points';
import { createDb } from '../lib/db';
import type { Logger } from '../lib/logger';
import { runIfMain } from '../lib/main';
import { createProcessRegistry, startMetricsServer, type MetricsServer } from '../lib/metrics-server';
import { randomIds } from '../lib/runtime';
import { createTemporalClient } from '../lib/temporal';
import { checkKeysAgainstCluster } from '../lib/payload-key-check';
import { listenForStarts } from '../starter/listen';
import { createStarterMetrics } from '../starter/metrics';
import { SagaStarter } from '../starter/starter';

/** How long one start may take before its outcome counts as unknown (the row is tried again). */
const START_TIMEOUT_MS = 5_000;

export interface SagaStarterRunOptions {
  /**
   * A client to start with instead of the process's own: the saga worker passes one on its
   * NativeConnection to run the starter beside itself with eager workflow start.
   */
  temporal?: Client;
  eagerStart?: boolean;
  /** Serve the starter's metrics on METRICS_ADDRESS (default true when running alone). */
  serveMetrics?: boolean;
}

/**
 * The saga starter process: starts the saga of every committed order that has none, woken by the
 * NOTIFY of each checkout and polling every SAGA_STARTER_POLL_INTERVAL, at most
 * SAGA_STARTER_CONCURRENCY starts in flight, backing off while Temporal is down. Run as many as
 * needed; they share the queue without ever starting an order twice. With METRICS_ADDRESS set it
 * serves its metrics there (backlog and oldest age, starts by result, start latency and delay).
 * Stops after the batches in flight are recorded.
 *
 * @example
 * await runSagaStarter(loadConfig(), logger, signal);
 */
export async function runSagaStarter(
  config: Config,
  logger: Logger,
  signal: AbortSignal,
  options: SagaStarterRunOptions = {},
): Promise<void> {
  const { concurrency } = config.sagaStarter;
  // One connection per lane of 16 starts, one for LISTEN, one for metrics scrapes.
  const db = createDb(config.database.url, {
    max: Math.ceil(concurrency / 16) + 2,
    applicationName: 'checkout-saga-starter',
    timeouts: config.database.timeouts,
  });
  const temporal = options.temporal ?? (await createTemporalClient(config.temporal, { lazy: true }));
  let metricsServer: MetricsServer | undefined;
  try {
    // A starter writes sagas under the current key: one no worker can read must not start any.
    if (!options.temporal) await checkKeysAgainstCluster(temporal, config, logger);
    const registry = createProcessRegistry();
    const metrics = createStarterMetrics(registry, {
      db,
      onScrapeError: (err) => logger.warn({ err }, 'could not read the saga start backlog for metrics'),
    });
    if (config.metrics.address && (options.serveMetrics ?? options.temporal === undefined))
      metricsServer = await startMetricsServer(config.metrics.address, registry, logger, signal);
    const saga = createSagaClient({
      temporal,
      taskQueue: config.temporal.taskQueue,
      ids: randomIds,
      deadlines: {
        paymentConfirmationTimeoutMs: durationToMs(config.saga.paymentConfirmationTimeout),
        compensationAlertAfterMs: durationToMs(config.saga.compensationAlertAfter),
      },
      logger,
      eagerStart: options.eagerStart ?? false,
    });
    const starter = new SagaStarter(
      {
        db,
        start: (order, timeoutMs) => saga.start(order, timeoutMs),
        logger,
        metrics,
        crashPoints: createCrashPoints(config.crashPoints, (name) =>
          logger.warn({ crashPoint: name }, 'crash point reached: dying'),
        ),
      },
      {
        concurrency,
        pollIntervalMs: durationToMs(config.sagaStarter.pollInterval),
        startTimeoutMs: START_TIMEOUT_MS,
      },
    );
    await Promise.all([listenForStarts(db, () => starter.wake(), logger, signal), starter.run(signal)]);
  } finally {
    await metricsServer?.close();
    if (!options.temporal) await temporal.connection.close();
    await db.end();
  }
}

await runIfMain(import.meta.url, 'saga-starter', (config, logger, signal) => runSagaStarter(config, logger, signal));
