import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { CheckoutActivities } from '../../activities';
import type { ErrorType } from '../../domain/errors';
import { checkoutWorkflowId, type CheckoutInput } from '../../domain/order';
import { WORKFLOWS_PATH } from '../../workers/saga-worker';
import { checkoutSaga } from '../../workflows/checkout-saga';
import { testDataConverter } from './payload-keys';

export type Step = keyof CheckoutActivities;
/** Per-test behaviour of mocked activities: an override per activity name. */
export type Script = Partial<Record<Step, (input: { orderId: string; approved?: boolean }) => Promise<unknown>>>;

const DEFAULT_RESULTS: Record<Step, unknown> = {
  reserveStock: { items: [] },
  releaseStock: { released: [] },
  chargePayment: { status: 'charged', paymentId: 'ch_1', amountCents: 1000 },
  confirmPayment: { status: 'charged', paymentId: 'ch_1', amountCents: 1000 },
  refundPayment: { refunded: true, amountCents: 1000 },
  shipOrder: { shipmentId: 'shp_1', trackingNumber: 'SIM1' },
  cancelShipment: { cancelled: true },
  finalizeOrder: { changed: true },
};

/** Mocked activities that record the order they were called in and follow a per-test script. */
export function mockActivities(script: Script, calls: string[]): CheckoutActivities {
  const out: Record<string, unknown> = {};
  for (const [name, result] of Object.entries(DEFAULT_RESULTS) as [Step, unknown][]) {
    out[name] = async (input: {
      orderId: string;
      approved?: boolean;
      outcome?: { status: string; failureReason?: string };
    }) => {
      calls.push(
        name === 'finalizeOrder'
          ? `finalizeOrder:${input.outcome?.status}${input.outcome?.failureReason ? `:${input.outcome.failureReason}` : ''}`
          : name === 'confirmPayment'
            ? `confirmPayment:${input.approved}`
            : name,
      );
      const override = script[name];
      return override ? override(input) : result;
    };
  }
  return out as unknown as CheckoutActivities;
}

/** An activity that fails with a non-retryable business failure of `type`. */
export const businessFailure = (type: ErrorType) => async (): Promise<never> => {
  throw ApplicationFailure.create({ type, message: `simulated ${type}`, nonRetryable: true });
};

/** A priced order as the API hands it to the saga. */
export function sagaInput(overrides: Partial<CheckoutInput> = {}): CheckoutInput {
  return {
    orderId: randomUUID(),
    customerId: 'cust-1',
    items: [{ sku: 'SKU-001', name: 'Demo', quantity: 2, unitPriceCents: 500 }],
    totalCents: 1000,
    currency: 'USD',
    paymentMethod: 'pm_card_visa',
    shippingAddress: { name: 'A', line1: 'B', city: 'C', postalCode: '1', country: 'DE' },
    createdAt: '2026-01-01T00:00:00.000Z',
    traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
    ...overrides,
  };
}

/**
 * Starts the saga on a fresh worker with scripted activities and runs `body` while the worker runs.
 *
 * @example
 * const { value, calls } = await withSaga(env, {}, sagaInput(), (h) => h.result());
 */
export async function withSaga<T>(
  env: TestWorkflowEnvironment,
  script: Script,
  args: CheckoutInput,
  body: (handle: WorkflowHandle<typeof checkoutSaga>) => Promise<T>,
): Promise<{ value: T; calls: string[] }> {
  const calls: string[] = [];
  const taskQueue = `wf-test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: mockActivities(script, calls),
    dataConverter: testDataConverter(),
  });
  const value = await worker.runUntil(async () =>
    body(
      await env.client.workflow.start(checkoutSaga, {
        taskQueue,
        workflowId: checkoutWorkflowId(args.orderId),
        args: [args],
      }),
    ),
  );
  return { value, calls };
}
