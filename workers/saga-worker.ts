import { fileURLToPath } from 'node:url';
import { Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createCrashPoints } from '../lib/crash-points';
import { createSimulatedCarrier } from '../activities/providers/carrier';
import { createSimulatedPaymentProvider } from '../activities/providers/payment-provider';
import { durationToMs, type Config } from '../lib/config';
import { createDb } from '../lib/db';
import type { Logger } from '../lib/logger';
import { runIfMain } from '../lib/main';
import { randomIds, systemClock } from '../lib/runtime';
import { drainBudgetMs, untilAborted } from '../lib/shutdown';
import { connectWhenReachable } from '../lib/connect-retry';
import {
  createTemporalClient,
  createWorkerConnection,
  isTemporalUnreachable,
  tracingWorkerOptions,
} from '../lib/temporal';
import { temporalLogger } from '../lib/temporal-logger';
import { encryptedDataConverter } from '../lib/payload-codec';
import { checkKeysAgainstCluster } from '../lib/payload-key-check';
import type { Tracing } from '../lib/tracing';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * Runs the saga worker until `signal` aborts, then drains: `Worker.shutdown` (via `runUntil`)
 * stops polling and lets in-flight workflow tasks and activities finish; activities still running
 * after the drain share of `SHUTDOWN_GRACE_PERIOD` are cancelled (their attempt fails and the
 * server retries it on another worker). Then the connection and the pool close.
 *
 * @example
 * await runSagaWorker(loadConfig(), logger, signal);
 */
export async function runSagaWorker(
  config: Config,
  logger: Logger,
  signal: AbortSignal,
  tracing?: Tracing,
): Promise<void> {
  const connection = await connectWhenReachable(
    'Temporal',
    () => createWorkerConnection(config.temporal),
    isTemporalUnreachable,
    { logger, signal },
  );
  const db = createDb(config.database.url, {
    max: config.database.poolMax,
    applicationName: 'checkout-saga-worker',
    timeouts: config.database.timeouts,
  });
  try {
    const ids = randomIds;
    const activities = createActivities({
      db,
      clock: systemClock,
      ids,
      provider: createSimulatedPaymentProvider({ db, ids }),
      carrier: createSimulatedCarrier({ db, ids }),
      crashPoints: createCrashPoints(config.crashPoints, (name) =>
        logger.warn({ crashPoint: name }, 'crash point reached: dying'),
      ),
    });
    // Before taking tasks: a well-formed but wrong key would fail every task it touches. The
    // check reads through a client (the worker's native connection serves no client calls).
    const checkClient = await createTemporalClient(config.temporal, { lazy: true });
    try {
      await checkKeysAgainstCluster(checkClient, config, logger);
    } finally {
      await checkClient.connection.close();
    }
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities,
      dataConverter: encryptedDataConverter(config.temporal.payloadKeys),
      ...tracingWorkerOptions(tracing),
      // Within the process's own deadline, so cancelled activities are reported before it exits.
      shutdownGraceTime: drainBudgetMs(durationToMs(config.shutdown.gracePeriod)),
    });
    const { keys, currentKeyId } = config.temporal.payloadKeys;
    // Key ids (never keys): a worker that cannot read a saga names the id it lacks; this says which it has.
    logger.info(
      {
        taskQueue: config.temporal.taskQueue,
        namespace: config.temporal.namespace,
        payloadKeys: keys.map((k) => k.id),
        currentPayloadKey: currentKeyId,
      },
      'saga worker running',
    );
    // Temporal's runtime also calls Worker.shutdown on SIGINT/SIGTERM, but only for workers already
    // running: a signal received during Worker.create (bundling takes seconds) must still stop
    // this one, so the promise resolves at once for an already aborted signal.
    await worker.runUntil(untilAborted(signal));
    logger.info('saga worker drained');
  } finally {
    await connection.close();
    await db.end();
  }
}

/**
 * Buckets (seconds) of the saga's own histograms. The runtime's default (0.05 s to 10 s) fits
 * task latencies, not a saga that may wait 15 minutes for 3-D Secure or retry a compensation for
 * hours.
 */
export const SAGA_HISTOGRAM_BUCKETS: Record<string, number[]> = {
  checkout_saga_duration_seconds: [0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400],
  checkout_step_duration_seconds: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
};

/**
 * Installs the process's Temporal runtime: workflow, activity and SDK log lines go through
 * `logger` (JSON, with `workflowId`, `orderId` and `traceId`), and when WORKER_METRICS_ADDRESS is
 * set the Temporal SDK's worker metrics and the saga's own (`checkout_sagas_finished_total`, ...)
 * are served there for Prometheus, with Prometheus naming (`_total`, units, seconds). The runtime
 * can be installed once per process, before any connection, so only the worker's entry point
 * does it.
 *
 * @example
 * installWorkerTelemetry(config, logger); // then runSagaWorker(...)
 */
export function installWorkerTelemetry(config: Config, logger: Logger): void {
  Runtime.install({
    logger: temporalLogger(logger),
    telemetryOptions: config.workerMetricsAddress
      ? {
          metrics: {
            prometheus: {
              bindAddress: config.workerMetricsAddress,
              countersTotalSuffix: true,
              unitSuffix: true,
              useSecondsForDurations: true,
              histogramBucketOverrides: SAGA_HISTOGRAM_BUCKETS,
            },
          },
        }
      : {},
  });
}

await runIfMain(import.meta.url, 'saga-worker', async (config, logger, signal, tracing) => {
  installWorkerTelemetry(config, logger);
  await runSagaWorker(config, logger, signal, tracing);
});
