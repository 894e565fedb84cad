import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import type { Config } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { runIfMain } from '../../lib/main';
import { untilAborted } from '../../lib/shutdown';
import { encryptedDataConverter } from '../../lib/payload-codec';
import { createWorkerConnection } from '../../lib/temporal';
import { bareActivities } from './bare-activities';
import { BARE_TASK_QUEUE } from './bare-workflow';

const WORKFLOWS_PATH = fileURLToPath(new URL('./bare-workflow.ts', import.meta.url));

/**
 * Worker process of the bare-Temporal baseline: same SDK, same connection code and default worker
 * options as the saga worker, on its own task queue, with three no-op activities.
 *
 * @example
 * node --import tsx bench/baseline/bare-worker.ts
 */
export async function runBareWorker(config: Config, logger: Logger, signal: AbortSignal): Promise<void> {
  const connection = await createWorkerConnection(config.temporal);
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: BARE_TASK_QUEUE,
      workflowsPath: WORKFLOWS_PATH,
      activities: bareActivities,
      // Same codec cost as the saga worker, so the baseline compares like with like.
      dataConverter: encryptedDataConverter(config.temporal.payloadKeys),
    });
    logger.info({ taskQueue: BARE_TASK_QUEUE }, 'bare worker running');
    await worker.runUntil(untilAborted(signal));
  } finally {
    await connection.close();
  }
}

await runIfMain(import.meta.url, 'bare-worker', runBareWorker);
