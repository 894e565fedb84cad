import { proxyActivities } from '@temporalio/workflow';
import type { BareActivities } from './bare-activities';

/** Task queue of the bare-Temporal baseline (never the saga's). */
export const BARE_TASK_QUEUE = 'bench-bare';

const { stepOne, stepTwo, stepThree } = proxyActivities<BareActivities>({ startToCloseTimeout: '10s' });

/**
 * The baseline of scenario 1: a workflow running three no-op activities in sequence, so the
 * saga's cost can be read as a ratio against what Temporal alone costs on the same server.
 *
 * @example
 * await client.workflow.execute(bareWorkflow, { taskQueue: BARE_TASK_QUEUE, workflowId, args: [orderId] });
 */
export async function bareWorkflow(orderId: string): Promise<string> {
  await stepOne(orderId);
  await stepTwo(orderId);
  await stepThree(orderId);
  return orderId;
}
