import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, durationToMs, loadConfig } from '../../lib/config';

describe('config', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({});
    assert.equal(c.http.port, 3000);
    assert.deepEqual(c.nats.servers, ['nats://127.0.0.1:4222']);
    assert.equal(c.temporal.address, '127.0.0.1:7233');
    assert.equal(c.temporal.namespace, 'default');
    assert.equal(c.temporal.taskQueue, 'checkout');
    assert.equal(c.saga.paymentConfirmationTimeout, '15m');
  });

  it('names every bad variable in one clear error', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', PAYMENT_CONFIRMATION_TIMEOUT: 'soon' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /PORT/.test(err.message) &&
        /DATABASE_URL/.test(err.message) &&
        /PAYMENT_CONFIRMATION_TIMEOUT/.test(err.message),
    );
  });

  it('requires API_TOKENS in production and splits them on commas', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }), ConfigError);
    const c = loadConfig({
      NODE_ENV: 'production',
      API_TOKENS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb',
      PAYLOAD_KEYS: `k1=${Buffer.alloc(32, 1).toString('base64')}`,
    });
    assert.deepEqual(c.api.tokens, ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
  });

  it('parses the tracing settings and rejects unknown exporters and ratios outside 0..1', () => {
    assert.deepEqual(loadConfig({}).tracing, {
      exporter: 'none',
      otlpTracesUrl: 'http://127.0.0.1:4318/v1/traces',
      sampleRatio: 1,
    });
    const c = loadConfig({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/base/',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    assert.deepEqual(c.tracing, {
      exporter: 'otlp',
      otlpTracesUrl: 'http://collector:4318/base/v1/traces',
      sampleRatio: 0.25,
    });
    assert.throws(
      () => loadConfig({ OTEL_TRACES_EXPORTER: 'jaeger', OTEL_TRACES_SAMPLER_ARG: '2' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /OTEL_TRACES_EXPORTER/.test(err.message) &&
        /OTEL_TRACES_SAMPLER_ARG/.test(err.message),
    );
  });

  it('takes a NATS user with its password, never one without the other, and never echoes the password', () => {
    const c = loadConfig({ NATS_USER: 'outbox-relay', NATS_PASSWORD: 's3cret-value-0123' });
    assert.deepEqual(c.nats.user, { name: 'outbox-relay', password: 's3cret-value-0123' });
    assert.equal(c.nats.stackAdminFile, undefined, 'no fallback to the stack admin when credentials are given');
    assert.throws(() => loadConfig({ NATS_USER: 'outbox-relay' }), /NATS_USER, NATS_PASSWORD: set both/);
    assert.throws(
      () => loadConfig({ NATS_PASSWORD: 's3cret-value-0123' }),
      (err: Error) => /set both/.test(err.message) && !err.message.includes('s3cret-value-0123'),
    );
    assert.equal(
      loadConfig({
        NODE_ENV: 'production',
        API_TOKENS: 'a'.repeat(16),
        PAYLOAD_KEYS: `k1=${Buffer.alloc(32, 1).toString('base64')}`,
      }).nats.stackAdminFile,
      undefined,
    );
  });

  it('parses durations', () => {
    assert.equal(durationToMs('15m'), 900_000);
    assert.equal(durationToMs('250ms'), 250);
  });
});

describe('process start-up with a bad environment', () => {
  it('prints every bad variable without a stack trace, exits 2 and starts nothing', async () => {
    const { spawnSync } = await import('node:child_process');
    const { repoRoot } = await import('../../lib/config');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'workers/relay.ts'], {
      cwd: repoRoot,
      env: { ...process.env, PORT: 'abc', DATABASE_URL: 'mysql://x' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Invalid configuration:\n {2}PORT: .*\n {2}DATABASE_URL: expected a postgres:\/\/ URL/);
    assert.doesNotMatch(r.stderr, /\bat loadConfig\b/);
  });
});
