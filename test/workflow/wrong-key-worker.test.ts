import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { checkoutWorkflowId } from '../../domain/order';
import { encryptedDataConverter } from '../../lib/payload-codec';
import { WORKFLOWS_PATH } from '../../workers/saga-worker';
import { checkoutSaga } from '../../workflows/checkout-saga';
import { testDataConverter } from '../support/payload-keys';
import { mockActivities, sagaInput } from '../support/saga-harness';
import { eventually } from '../support/services';
import { timeSkippingSuite } from '../support/test-env';

describe('a saga worker configured with the wrong payload key', () => {
  const suite = timeSkippingSuite();

  it('fails the workflow task naming the key it lacks, runs no step, and leaves the saga to a worker with the right key', async () => {
    const { env } = suite;
    const taskQueue = `wrong-key-${randomUUID()}`;
    const input = sagaInput({ orderId: randomUUID() });
    const handle = await env.client.workflow.start(checkoutSaga, {
      taskQueue,
      workflowId: checkoutWorkflowId(input.orderId),
      args: [input],
    });
    const calls: string[] = [];
    const worker = (dataConverter: ReturnType<typeof testDataConverter>) =>
      Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowsPath: WORKFLOWS_PATH,
        activities: mockActivities({}, calls),
        dataConverter,
      });

    const wrongKey = encryptedDataConverter({ keys: [{ id: 'wrong', key: randomBytes(32) }], currentKeyId: 'wrong' });
    const failure = await (
      await worker(wrongKey)
    ).runUntil(() =>
      eventually(
        async () => {
          const { events } = await handle.fetchHistory();
          return events?.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure;
        },
        30_000,
        'a failed workflow task',
      ),
    );
    assert.match(
      failure?.message ?? '',
      /encrypted with key "test-only", which this process does not have \(it has wrong\)/,
    );
    assert.deepEqual(calls, [], 'no step ran on the worker that cannot read the input');
    assert.equal((await handle.describe()).status.name, 'RUNNING');

    const state = await (await worker(testDataConverter())).runUntil(handle.result());
    assert.equal(state.status, 'COMPLETED');
    assert.deepEqual(calls, ['reserveStock', 'chargePayment', 'shipOrder', 'finalizeOrder:COMPLETED']);
  });
});
