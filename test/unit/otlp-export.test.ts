import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { trace } from '@opentelemetry/api';
import { loadConfig } from '../../lib/config';
import { startTracing } from '../../lib/tracing';

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('tracing exporter chosen by configuration', () => {
  it('is off by default: nothing is registered and spans do not record', () => {
    const tracing = startTracing(loadConfig({}).tracing, 'off-test');
    assert.equal(tracing.enabled, false);
    const span = trace.getTracer('t').startSpan('ignored');
    assert.equal(span.isRecording(), false);
    span.end();
  });

  it('with OTEL_TRACES_EXPORTER=otlp sends spans, with the service name, to <endpoint>/v1/traces', async () => {
    const received: { path: string | undefined; body: string }[] = [];
    const server = createServer((req, res) => {
      void body(req).then((text) => {
        received.push({ path: req.url, body: text });
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const config = loadConfig({
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      });
      const tracing = startTracing(config.tracing, 'otlp-test');
      assert.equal(tracing.enabled, true);
      trace.getTracer('t').startSpan('exported-span').end();
      await tracing.shutdown();
      assert.equal(received.length, 1);
      assert.equal(received[0]?.path, '/v1/traces');
      assert.match(received[0]?.body ?? '', /exported-span/);
      assert.match(received[0]?.body ?? '', /otlp-test/);
    } finally {
      server.close();
    }
  });
});
