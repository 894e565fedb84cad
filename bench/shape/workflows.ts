import { proxyActivities, proxyLocalActivities, upsertSearchAttributes } from '@temporalio/workflow';
import { OrderStatusKey } from '../../workflows/search-attributes';
import type { BareActivities } from '../baseline/bare-activities';

// Workflow shapes of the saga-cost experiment (bench/shape/run.ts): the bare workflow with, one
// at a time, what the saga adds on the engine's side, so each addition's cost reads as a ratio.

/** Task queue of the experiment's in-process worker. */
export const SHAPE_TASK_QUEUE = 'bench-shape';

const remote = proxyActivities<BareActivities>({ startToCloseTimeout: '10s' });
const local = proxyLocalActivities<BareActivities>({ startToCloseTimeout: '10s' });

function status(value: string, upserts: boolean): void {
  if (upserts) upsertSearchAttributes([{ key: OrderStatusKey, value }]);
}

/** Options of one shape: a fourth step (none, an activity or a local activity), and the status upserts. */
export interface Shape {
  fourth: 'none' | 'activity' | 'local';
  upserts: boolean;
}

/** Three no-op activities, then as `shape` says a fourth call and the status upserts the saga makes. */
export async function shapeWorkflow(id: string, shape: Shape): Promise<string> {
  status('RESERVING_STOCK', shape.upserts);
  await remote.stepOne(id);
  status('CHARGING_PAYMENT', shape.upserts);
  await remote.stepTwo(id);
  status('SHIPPING', shape.upserts);
  await remote.stepThree(id);
  if (shape.fourth === 'activity') await remote.stepOne(id);
  if (shape.fourth === 'local') await local.stepOne(id);
  status('COMPLETED', shape.upserts);
  return id;
}
