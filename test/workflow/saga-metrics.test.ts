import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { ErrorType } from '../../domain/errors';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { installWorkerTelemetry } from '../../workers/saga-worker';
import { eventually } from '../support/services';
import { freePort } from '../support/ports';
import { scrape, sumOf, type Sample } from '../support/prometheus';
import { businessFailure, sagaInput, withSaga } from '../support/saga-harness';
import { timeSkippingSuite } from '../support/test-env';

// The saga's own metrics go through the worker's Temporal runtime, installed exactly as the saga
// worker process installs it (WORKER_METRICS_ADDRESS), so this checks the names Prometheus sees.
// Given one saga that completes and one that fails shipping (AQ) and compensates, each test reads
// one family of metrics from the same scrape.
describe('saga metrics (time-skipping, Prometheus exporter of the worker runtime)', () => {
  let url: string;
  const completed = sagaInput({ orderId: randomUUID() });
  const failed = sagaInput({
    orderId: randomUUID(),
    shippingAddress: { name: 'A', line1: 'B', city: 'C', postalCode: '1', country: 'AQ' },
  });
  const statuses: string[] = [];
  let samples: Sample[];

  // Before the environment: the runtime's telemetry can only be installed before its first use.
  before(async () => {
    const port = await freePort();
    const config = loadConfig({ ...process.env, WORKER_METRICS_ADDRESS: `127.0.0.1:${port}` });
    installWorkerTelemetry(config, createLogger('saga-metrics-test', 'warn'));
    url = `http://127.0.0.1:${port}/metrics`;
  });
  const suite = timeSkippingSuite();
  before(async () => {
    const ok = await withSaga(suite.env, {}, completed, (h) => h.result());
    statuses.push(ok.value.status);
    const ko = await withSaga(suite.env, { shipOrder: businessFailure(ErrorType.SHIPPING_UNAVAILABLE) }, failed, (h) =>
      h.result(),
    );
    statuses.push(ko.value.status);
    // Workflow metrics reach the runtime's meter after the activation that recorded them.
    samples = await eventually(
      async () => {
        const s = await scrape(url);
        return (sumOf(s, 'checkout_sagas_finished_total') ?? 0) >= 2 ? s : undefined;
      },
      20_000,
      'both sagas to be counted as finished',
    );
  });

  it('measures one completed and one failed saga', () => {
    assert.deepEqual(statuses, ['COMPLETED', 'FAILED']);
  });

  it('counts started sagas, and finished ones by status and reason', () => {
    assert.equal(sumOf(samples, 'checkout_sagas_started_total'), 2);
    assert.equal(sumOf(samples, 'checkout_sagas_finished_total', { status: 'COMPLETED', reason: 'none' }), 1);
    assert.equal(
      sumOf(samples, 'checkout_sagas_finished_total', { status: 'FAILED', reason: 'SHIPPING_UNAVAILABLE' }),
      1,
    );
  });

  it('times each saga by status and reason', () => {
    assert.equal(sumOf(samples, 'checkout_saga_duration_seconds_count', { status: 'COMPLETED', reason: 'none' }), 1);
    assert.equal(
      sumOf(samples, 'checkout_saga_duration_seconds_count', { status: 'FAILED', reason: 'SHIPPING_UNAVAILABLE' }),
      1,
    );
  });

  it('times each forward step by its result', () => {
    // Reserve and charge twice (both sagas), ship once completed and once failed.
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
  });

  it('counts each compensation started and finished, and times it', () => {
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
  });

  it('sizes the duration buckets for sagas and steps, not for the runtime’s 10 s default', () => {
    // Histogram buckets are cumulative and end with +Inf equal to the count.
    assert.equal(sumOf(samples, 'checkout_saga_duration_seconds_bucket', { status: 'COMPLETED', le: '+Inf' }), 1);
    assert.ok(
      samples.some((s) => s.name === 'checkout_saga_duration_seconds_bucket' && s.labels.le === '86400'),
      'saga duration buckets reach a day',
    );
    assert.ok(
      samples.some((s) => s.name === 'checkout_step_duration_seconds_bucket' && s.labels.le === '3600'),
      'step duration buckets reach an hour',
    );
  });

  it('labels the saga’s series with bounded names only, never an order id', () => {
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
  });

  it('serves the Temporal SDK’s own worker metrics from the same endpoint', () => {
    assert.ok(
      samples.some(
        (s) => s.name.startsWith('temporal_workflow_task_') || s.name.startsWith('temporal_worker_task_slots'),
      ),
      'Temporal SDK worker metrics exported',
    );
  });
});
