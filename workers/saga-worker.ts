import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createSimulatedCarrier } from '../activities/providers/carrier';
import { createSimulatedPaymentProvider } from '../activities/providers/payment-provider';
import type { Config } from '../lib/config';
import { createDb } from '../lib/db';
import type { Logger } from '../lib/logger';
import { runIfMain } from '../lib/main';
import { randomIds, systemClock } from '../lib/runtime';
import { createWorkerConnection } from '../lib/temporal';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * Runs the saga worker until `signal` aborts, then drains: Temporal's `Worker.shutdown` lets
 * in-flight activities finish (within the grace time) before the pool closes.
 *
 * @example
 * await runSagaWorker(loadConfig(), logger, signal);
 */
export async function runSagaWorker(config: Config, logger: Logger, signal: AbortSignal): Promise<void> {
  const db = createDb(config.database.url, { max: config.database.poolMax, applicationName: 'checkout-saga-worker' });
  const connection = await createWorkerConnection(config.temporal);
  try {
    const ids = randomIds;
    const activities = createActivities({
      db,
      clock: systemClock,
      ids,
      provider: createSimulatedPaymentProvider({ db, ids }),
      carrier: createSimulatedCarrier({ db, ids }),
    });
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities,
      shutdownGraceTime: '20s',
    });
    logger.info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }, 'saga worker running');
    await worker.runUntil(new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })));
    logger.info('saga worker drained');
  } finally {
    await connection.close();
    await db.end();
  }
}

await runIfMain(import.meta.url, 'saga-worker', runSagaWorker);
