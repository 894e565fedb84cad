import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ErrorType } from '../../domain/errors';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { installWorkerTelemetry } from '../../workers/saga-worker';
import { eventually } from '../support/services';
import { freePort, scrape, sumOf, type Sample } from '../support/prometheus';
import { businessFailure, sagaInput, withSaga } from '../support/saga-harness';
import { createTimeSkippingEnv } from '../support/test-env';

// The saga's own metrics go through the worker's Temporal runtime, installed exactly as the saga
// worker process installs it (WORKER_METRICS_ADDRESS), so this checks the names Prometheus sees.
describe('saga metrics (time-skipping, Prometheus exporter of the worker runtime)', () => {
  let env: TestWorkflowEnvironment;
  let url: string;

  before(async () => {
    const port = await freePort();
    const config = loadConfig({ ...process.env, WORKER_METRICS_ADDRESS: `127.0.0.1:${port}` });
    installWorkerTelemetry(config, createLogger('saga-metrics-test', 'warn'));
    url = `http://127.0.0.1:${port}/metrics`;
    env = await createTimeSkippingEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  it('counts started and finished sagas by status and reason, times steps and sagas, counts compensations, with bounded labels', async () => {
    const completed = sagaInput({ orderId: randomUUID() });
    const failed = sagaInput({
      orderId: randomUUID(),
      shippingAddress: { name: 'A', line1: 'B', city: 'C', postalCode: '1', country: 'AQ' },
    });
    const ok = await withSaga(env, {}, completed, (h) => h.result());
    assert.equal(ok.value.status, 'COMPLETED');
    const ko = await withSaga(env, { shipOrder: businessFailure(ErrorType.SHIPPING_UNAVAILABLE) }, failed, (h) =>
      h.result(),
    );
    assert.equal(ko.value.status, 'FAILED');

    // Workflow metrics reach the runtime's meter after the activation that recorded them.
    const samples: Sample[] = await eventually(
      async () => {
        const s = await scrape(url);
        return (sumOf(s, 'checkout_sagas_finished_total') ?? 0) >= 2 ? s : undefined;
      },
      20_000,
      'both sagas to be counted as finished',
    );

    assert.equal(sumOf(samples, 'checkout_sagas_started_total'), 2);
    assert.equal(sumOf(samples, 'checkout_sagas_finished_total', { status: 'COMPLETED', reason: 'none' }), 1);
    assert.equal(
      sumOf(samples, 'checkout_sagas_finished_total', { status: 'FAILED', reason: 'SHIPPING_UNAVAILABLE' }),
      1,
    );
    assert.equal(sumOf(samples, 'checkout_saga_duration_seconds_count', { status: 'COMPLETED', reason: 'none' }), 1);
    assert.equal(
      sumOf(samples, 'checkout_saga_duration_seconds_count', { status: 'FAILED', reason: 'SHIPPING_UNAVAILABLE' }),
      1,
    );
    // Forward steps: reserve and charge twice (both sagas), ship once completed and once failed.
    assert.equal(
      sumOf(samples, 'checkout_step_duration_seconds_count', { step: 'reserveStock', result: 'completed' }),
      2,
    );
    assert.equal(
      sumOf(samples, 'checkout_step_duration_seconds_count', { step: 'chargePayment', result: 'completed' }),
      2,
    );
    assert.equal(sumOf(samples, 'checkout_step_duration_seconds_count', { step: 'shipOrder', result: 'completed' }), 1);
    assert.equal(sumOf(samples, 'checkout_step_duration_seconds_count', { step: 'shipOrder', result: 'failed' }), 1);
    // The failed saga compensated payment then stock; each started and finished once.
    for (const step of ['refundPayment', 'releaseStock']) {
      assert.equal(sumOf(samples, 'checkout_compensations_total', { step }), 1, `${step} started`);
      assert.equal(
        sumOf(samples, 'checkout_compensations_finished_total', { step, result: 'succeeded' }),
        1,
        `${step} finished`,
      );
      assert.equal(
        sumOf(samples, 'checkout_step_duration_seconds_count', { step, result: 'completed' }),
        1,
        `${step} timed`,
      );
    }
    assert.equal(
      sumOf(samples, 'checkout_compensations_total', { step: 'cancelShipment' }),
      undefined,
      'the failed shipment had nothing to cancel',
    );
    // Histogram buckets are cumulative and end with +Inf equal to the count.
    assert.equal(sumOf(samples, 'checkout_saga_duration_seconds_bucket', { status: 'COMPLETED', le: '+Inf' }), 1);
    // Buckets sized for sagas (minutes to a day), not the runtime's 10 s default.
    assert.ok(
      samples.some((s) => s.name === 'checkout_saga_duration_seconds_bucket' && s.labels.le === '86400'),
      'saga duration buckets reach a day',
    );
    assert.ok(
      samples.some((s) => s.name === 'checkout_step_duration_seconds_bucket' && s.labels.le === '3600'),
      'step duration buckets reach an hour',
    );

    const saga = samples.filter((s) => s.name.startsWith('checkout_'));
    const labelNames = new Set(saga.flatMap((s) => Object.keys(s.labels)));
    for (const name of labelNames) {
      assert.ok(
        ['status', 'reason', 'step', 'result', 'le', 'namespace', 'taskQueue', 'workflowType', 'service_name'].includes(
          name,
        ),
        `unexpected label ${name}`,
      );
    }
    for (const id of [completed.orderId, failed.orderId]) {
      assert.ok(!saga.some((s) => Object.values(s.labels).some((v) => v.includes(id))), 'no order id in any label');
    }
    // The Temporal SDK's own worker metrics are served by the same endpoint.
    assert.ok(
      samples.some(
        (s) => s.name.startsWith('temporal_workflow_task_') || s.name.startsWith('temporal_worker_task_slots'),
      ),
      'Temporal SDK worker metrics exported',
    );
  });
});
