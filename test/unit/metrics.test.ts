import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createConsumerMetrics, CONSUMER_OUTCOMES } from 'checkout-saga/events';
import { NatsError } from 'nats';
import { Registry } from 'prom-client';
import { ConfigError, loadConfig } from '../../lib/config';
import { parseHostPort } from '../../lib/metrics-server';
import { PUBLISH_ERROR_REASONS, publishErrorReason } from '../../outbox/metrics';
import { parsePrometheus, sumOf } from '../support/prometheus';

describe('metrics labels and configuration', () => {
  it('maps publish failures to a fixed set of reasons, never to their message', () => {
    const apiError = new NatsError('maximum messages exceeded', '400');
    apiError.api_error = { code: 400, err_code: 10077, description: 'maximum messages exceeded for order 0b5c…' };
    const cases: [unknown, string][] = [
      [NatsError.errorForCode('TIMEOUT'), 'timeout'],
      [NatsError.errorForCode('408'), 'timeout'],
      [NatsError.errorForCode('503'), 'no_responders'],
      [NatsError.errorForCode('CONNECTION_CLOSED'), 'disconnected'],
      [NatsError.errorForCode('DISCONNECT'), 'disconnected'],
      [NatsError.errorForCode('CONNECTION_DRAINING'), 'disconnected'],
      [NatsError.errorForCode('PERMISSIONS_VIOLATION'), 'permission'],
      [apiError, 'rejected'],
      [NatsError.errorForCode('BAD_SUBJECT'), 'other'],
      [new Error('order 1234 failed'), 'other'],
      ['a string', 'other'],
      [undefined, 'other'],
    ];
    for (const [err, reason] of cases) assert.equal(publishErrorReason(err), reason, String(err));
    for (const [err] of cases) assert.ok(PUBLISH_ERROR_REASONS.includes(publishErrorReason(err)));
  });

  it('labels consumer metrics by consumer, stream and outcome only, every outcome exported at 0 once watched', async () => {
    const registry = new Registry();
    const metrics = createConsumerMetrics(registry);
    const unwatch = metrics.watch({
      consumer: 'c1',
      stream: 'CHECKOUT',
      pending: async () => ({ pending: 3, ackPending: 1 }),
      deadLetters: async () => 2,
    });
    metrics.settled({ consumer: 'c1', stream: 'CHECKOUT' }, 'applied', { seconds: 0.01, ageSeconds: 0.5 });
    const samples = parsePrometheus(await registry.metrics());
    for (const outcome of CONSUMER_OUTCOMES)
      assert.ok(sumOf(samples, 'consumer_messages_total', { consumer: 'c1', outcome }) !== undefined, outcome);
    assert.equal(sumOf(samples, 'consumer_messages_total', { outcome: 'applied' }), 1);
    assert.equal(sumOf(samples, 'consumer_pending_messages', { consumer: 'c1', stream: 'CHECKOUT' }), 3);
    assert.equal(sumOf(samples, 'consumer_ack_pending_messages', { consumer: 'c1' }), 1);
    assert.equal(sumOf(samples, 'consumer_dlq_messages', { consumer: 'c1' }), 2);
    const labels = new Set(samples.filter((s) => s.name.startsWith('consumer_')).flatMap((s) => Object.keys(s.labels)));
    assert.deepEqual([...labels].sort(), ['consumer', 'le', 'outcome', 'stream']);
    unwatch();
    assert.equal(
      sumOf(parsePrometheus(await registry.metrics()), 'consumer_pending_messages'),
      undefined,
      'an unwatched consumer leaves the gauges',
    );
  });

  it('leaves a consumer whose gauges cannot be read out of the scrape and reports why', async () => {
    const registry = new Registry();
    const errors: unknown[] = [];
    const metrics = createConsumerMetrics(registry, (err) => errors.push(err));
    metrics.watch({
      consumer: 'c2',
      stream: 'PAYMENTS',
      pending: () => Promise.reject(new Error('NATS down')),
      deadLetters: () => Promise.reject(new Error('NATS down')),
    });
    const samples = parsePrometheus(await registry.metrics());
    assert.equal(sumOf(samples, 'consumer_pending_messages'), undefined);
    assert.equal(sumOf(samples, 'consumer_dlq_messages'), undefined);
    assert.equal(errors.length, 2, 'one report for the backlog snapshot, one for the DLQ');
  });

  it('METRICS_ADDRESS is host:port; the saga worker falls back to it when WORKER_METRICS_ADDRESS is unset', () => {
    assert.equal(loadConfig({ METRICS_ADDRESS: '0.0.0.0:9465' }).metrics.address, '0.0.0.0:9465');
    assert.equal(loadConfig({ METRICS_ADDRESS: '0.0.0.0:9465' }).workerMetricsAddress, '0.0.0.0:9465');
    assert.equal(
      loadConfig({ METRICS_ADDRESS: '0.0.0.0:9465', WORKER_METRICS_ADDRESS: '127.0.0.1:9999' }).workerMetricsAddress,
      '127.0.0.1:9999',
    );
    assert.equal(loadConfig({}).metrics.address, undefined, 'off when unset');
    assert.throws(
      () => loadConfig({ METRICS_ADDRESS: '9465' }),
      (err: unknown) => err instanceof ConfigError && /METRICS_ADDRESS: expected host:port/.test(err.message),
    );
    assert.deepEqual(parseHostPort('[::1]:9464'), { host: '::1', port: 9464 });
    assert.deepEqual(parseHostPort('metrics.local:80'), { host: 'metrics.local', port: 80 });
    assert.throws(() => parseHostPort('host:99999'));
  });
});
