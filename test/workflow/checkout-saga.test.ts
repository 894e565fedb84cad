import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import type { CheckoutActivities } from '../../activities';
import { ErrorType } from '../../domain/errors';
import { checkoutWorkflowId, type CheckoutInput, type CheckoutState } from '../../domain/order';
import { WORKFLOWS_PATH } from '../../workers/saga-worker';
import { checkoutSaga, getStateQuery } from '../../workflows/checkout-saga';
import { createTimeSkippingEnv } from '../support/test-env';

type Step = keyof CheckoutActivities;
type Script = Partial<Record<Step, () => Promise<unknown>>>;

/** Mocked activities that record the order they were called in and follow a per-test script. */
function mockActivities(script: Script, calls: string[]): CheckoutActivities {
  const step = (name: Step, result: unknown) => async (input: { orderId: string; outcome?: { status: string; failureReason?: string } }) => {
    calls.push(name === 'finalizeOrder' ? `finalizeOrder:${input.outcome?.status}${input.outcome?.failureReason ? `:${input.outcome.failureReason}` : ''}` : name);
    const override = script[name];
    return override ? override() : result;
  };
  return {
    reserveStock: step('reserveStock', { items: [] }),
    releaseStock: step('releaseStock', { released: [] }),
    chargePayment: step('chargePayment', { paymentId: 'ch_1', amountCents: 1000 }),
    refundPayment: step('refundPayment', { refunded: true, amountCents: 1000 }),
    shipOrder: step('shipOrder', { shipmentId: 'shp_1', trackingNumber: 'SIM1' }),
    cancelShipment: step('cancelShipment', { cancelled: true }),
    finalizeOrder: step('finalizeOrder', { changed: true }),
  } as unknown as CheckoutActivities;
}

const businessFailure = (type: ErrorType) => async () => {
  throw ApplicationFailure.create({ type, message: `simulated ${type}`, nonRetryable: true });
};

function input(country = 'DE'): CheckoutInput {
  return {
    orderId: randomUUID(),
    customerId: 'cust-1',
    items: [{ sku: 'SKU-001', name: 'Demo', quantity: 2, unitPriceCents: 500 }],
    totalCents: 1000,
    currency: 'USD',
    paymentMethod: 'pm_card_visa',
    shippingAddress: { name: 'A', line1: 'B', city: 'C', postalCode: '1', country },
    createdAt: new Date().toISOString(),
    traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
  };
}

describe('checkoutSaga (time-skipping, mocked activities)', () => {
  let env: TestWorkflowEnvironment;

  before(async () => {
    env = await createTimeSkippingEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  /** Starts the saga on a fresh worker with scripted activities and runs `body` while the worker runs. */
  async function withSaga<T>(script: Script, args: CheckoutInput, body: (handle: WorkflowHandle<typeof checkoutSaga>) => Promise<T>): Promise<{ value: T; calls: string[] }> {
    const calls: string[] = [];
    const taskQueue = `wf-test-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: WORKFLOWS_PATH,
      activities: mockActivities(script, calls),
    });
    const value = await worker.runUntil(async () =>
      body(await env.client.workflow.start(checkoutSaga, { taskQueue, workflowId: checkoutWorkflowId(args.orderId), args: [args] })),
    );
    return { value, calls };
  }

  async function runSaga(script: Script, args = input()): Promise<{ state: CheckoutState; calls: string[]; queried: CheckoutState }> {
    const { value, calls } = await withSaga(script, args, async (handle) => ({ state: await handle.result(), queried: await handle.query(getStateQuery) }));
    return { ...value, calls };
  }

  it('completes the happy path with each forward step once, in order', async () => {
    const { state, calls, queried } = await runSaga({});
    assert.equal(state.status, 'COMPLETED');
    assert.equal(state.failureReason, undefined);
    assert.deepEqual(calls, ['reserveStock', 'chargePayment', 'shipOrder', 'finalizeOrder:COMPLETED']);
    assert.deepEqual(state.steps.map((s) => `${s.name}:${s.state}`), ['reserveStock:COMPLETED', 'chargePayment:COMPLETED', 'shipOrder:COMPLETED']);
    assert.deepEqual(queried, state, 'getState returns the same state as the result');
  });

  it('fails OUT_OF_STOCK with nothing to compensate', async () => {
    const { state, calls } = await runSaga({ reserveStock: businessFailure(ErrorType.OUT_OF_STOCK) });
    assert.equal(state.status, 'FAILED');
    assert.equal(state.failureReason, 'OUT_OF_STOCK');
    assert.deepEqual(calls, ['reserveStock', 'finalizeOrder:FAILED:OUT_OF_STOCK']);
    assert.deepEqual(state.steps.map((s) => `${s.name}:${s.state}`), ['reserveStock:FAILED', 'chargePayment:SKIPPED', 'shipOrder:SKIPPED']);
  });

  it('fails PAYMENT_DECLINED and releases the stock it reserved', async () => {
    const { state, calls } = await runSaga({ chargePayment: businessFailure(ErrorType.PAYMENT_DECLINED) });
    assert.equal(state.status, 'FAILED');
    assert.equal(state.failureReason, 'PAYMENT_DECLINED');
    assert.deepEqual(calls, ['reserveStock', 'chargePayment', 'releaseStock', 'finalizeOrder:FAILED:PAYMENT_DECLINED']);
  });

  it('fails SHIPPING_UNAVAILABLE and compensates payment then stock, in reverse order', async () => {
    const { state, calls } = await runSaga({ shipOrder: businessFailure(ErrorType.SHIPPING_UNAVAILABLE) }, input('AQ'));
    assert.equal(state.status, 'FAILED');
    assert.equal(state.failureReason, 'SHIPPING_UNAVAILABLE');
    assert.deepEqual(calls, ['reserveStock', 'chargePayment', 'shipOrder', 'refundPayment', 'releaseStock', 'finalizeOrder:FAILED:SHIPPING_UNAVAILABLE']);
    assert.deepEqual(
      state.steps.map((s) => `${s.kind}:${s.name}:${s.state}`),
      ['FORWARD:reserveStock:COMPLETED', 'FORWARD:chargePayment:COMPLETED', 'FORWARD:shipOrder:FAILED', 'COMPENSATION:refundPayment:COMPLETED', 'COMPENSATION:releaseStock:COMPLETED'],
    );
  });

  it('retries a transient step failure and still charges through one step', async () => {
    let attempts = 0;
    const { state, calls } = await runSaga({
      chargePayment: async () => {
        attempts += 1;
        if (attempts <= 2) throw ApplicationFailure.create({ type: ErrorType.TRANSIENT_PROVIDER_ERROR, message: 'flaky' });
        return { paymentId: 'ch_1', amountCents: 1000 };
      },
    });
    assert.equal(state.status, 'COMPLETED');
    assert.equal(attempts, 3);
    assert.deepEqual(calls, ['reserveStock', 'chargePayment', 'chargePayment', 'chargePayment', 'shipOrder', 'finalizeOrder:COMPLETED']);
  });

  it('compensates every step that may have happened when a step fails unexpectedly, and fails the execution', async () => {
    const { calls } = await withSaga({ shipOrder: businessFailure(ErrorType.STEP_ALREADY_COMPENSATED) }, input(), async (handle) => {
      await assert.rejects(handle.result());
      const state = await handle.query(getStateQuery);
      assert.equal(state.status, 'FAILED');
    });
    assert.deepEqual(calls, ['reserveStock', 'chargePayment', 'shipOrder', 'cancelShipment', 'refundPayment', 'releaseStock']);
  });
});
