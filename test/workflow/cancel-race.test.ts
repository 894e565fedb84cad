import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { WorkflowUpdateStage } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { checkoutWorkflowId } from '../../domain/order';
import { WORKFLOWS_PATH } from '../../workers/saga-worker';
import { cancelUpdate, checkoutSaga, getStateQuery } from '../../workflows/checkout-saga';
import { mockActivities, sagaInput } from '../support/saga-harness';
import { testDataConverter } from '../support/payload-keys';
import { timeSkippingSuite } from '../support/test-env';

/** Whether the cancel was accepted, how the saga ended, and the activities it ran, in order. */
interface RaceOutcome {
  accepted: boolean;
  status: string;
  /** The status getState answers once the saga has ended. */
  queriedStatus: string;
  calls: string[];
}

/**
 * Runs the saga until shipOrder is running, stops the only workflow worker, lets shipOrder
 * complete and sends the cancel, then starts a new workflow worker that receives both at once.
 */
async function raceCancelAgainstLastStep(env: TestWorkflowEnvironment): Promise<RaceOutcome> {
  const taskQueue = `cancel-race-${randomUUID()}`;
  const args = sagaInput({ orderId: randomUUID() });
  const calls: string[] = [];
  let release: () => void = () => undefined;
  const shipping = new Promise<void>((resolve) => (release = resolve));
  let shipStarted: () => void = () => undefined;
  const shipRunning = new Promise<void>((resolve) => (shipStarted = resolve));
  const activities = mockActivities(
    {
      shipOrder: async () => {
        shipStarted();
        await shipping;
        return { shipmentId: 'shp_1', trackingNumber: 'SIM1' };
      },
    },
    calls,
  );
  const dataConverter = testDataConverter();
  const activityWorker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    activities,
    dataConverter,
  });
  // No cache: the next workflow task goes to whichever workflow worker polls, not a sticky queue.
  const workflowWorker = () =>
    Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      maxCachedWorkflows: 0,
      dataConverter,
      // The saga's final record is a local activity (LOCAL_FINALIZE_PATCH): it runs on the
      // workflow's own worker, which takes no activity tasks from the queue.
      activities: { finalizeOrder: activities.finalizeOrder },
      enableNonLocalActivities: false,
    });

  return activityWorker.runUntil(async () => {
    const first = await workflowWorker();
    const handle = await first.runUntil(async () => {
      const h = await env.client.workflow.start(checkoutSaga, {
        taskQueue,
        workflowId: checkoutWorkflowId(args.orderId),
        args: [args],
      });
      await shipRunning;
      return h;
    });
    // No workflow worker now: shipOrder completes, then the cancel arrives; both wait for the next task.
    release();
    await new Promise((r) => setTimeout(r, 500));
    const update = handle.startUpdate(cancelUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED });
    await new Promise((r) => setTimeout(r, 500));
    const second = await workflowWorker();
    return second.runUntil(async () => {
      const accepted = await update.then(
        () => true,
        () => false,
      );
      const state = await handle.result();
      return { accepted, status: state.status, queriedStatus: (await handle.query(getStateQuery)).status, calls };
    });
  });
}

/**
 * The race the chaos runner found: the cancel update and the last forward step's result reach the
 * workflow in the same workflow task. Workflows and activities run on separate workers here, so
 * the test can stop the workflow worker, let shipOrder complete and send the cancel, then start
 * a new workflow worker that receives both at once.
 */
describe('cancel accepted in the same workflow task as the last step’s result', () => {
  const suite = timeSkippingSuite();
  let outcome: RaceOutcome;
  before(async () => {
    outcome = await raceCancelAgainstLastStep(suite.env);
  });

  // The race is only reproduced if the cancel was accepted in the task that also brought the
  // step's result; if an SDK change made the validator see the step finished, this test would
  // no longer exercise the fix, so that is a failure too, not a silent pass.
  it('reproduces the race: the cancel is accepted in the task that carries shipOrder’s result', () => {
    assert.equal(
      outcome.accepted,
      true,
      'the cancel was accepted in the workflow task that also carried shipOrder’s result',
    );
  });

  it('an accepted cancel ends the order CANCELLED', () => {
    assert.equal(outcome.status, 'CANCELLED', 'an accepted cancel must cancel the order');
    assert.equal(outcome.queriedStatus, 'CANCELLED', 'getState agrees with the result');
  });

  it('compensates every step, shipment first, after all three forward steps ran', () => {
    assert.deepEqual(outcome.calls, [
      'reserveStock',
      'chargePayment',
      'shipOrder',
      'cancelShipment',
      'refundPayment',
      'releaseStock',
      'finalizeOrder:CANCELLED',
    ]);
  });
});
