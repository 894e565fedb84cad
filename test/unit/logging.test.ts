import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { activeTraceparent, contextFromTraceparent } from '../../events/trace-context';
import { createLogger } from '../../lib/logger';
import { temporalLogger } from '../../lib/temporal-logger';
import { startTracing } from '../../lib/tracing';

function capture() {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('structured logs', () => {
  const tracing = startTracing({ spanExporter: new InMemorySpanExporter() }, 'logging-test');
  after(() => tracing.shutdown());

  it('adds traceId and spanId to lines logged inside a span, and nothing outside one', () => {
    const out = capture();
    const logger = createLogger('t', 'info', out);
    logger.info('outside');
    const span = trace.getTracer('t').startSpan('work', {}, contextFromTraceparent(`00-${TRACE}-${SPAN}-01`));
    context.with(trace.setSpan(context.active(), span), () => {
      logger.info({ orderId: 'o-1' }, 'inside');
      assert.equal(activeTraceparent(), `00-${TRACE}-${span.spanContext().spanId}-01`);
    });
    span.end();
    assert.equal(out.lines[0]?.traceId, undefined);
    assert.equal(out.lines[1]?.traceId, TRACE);
    assert.equal(out.lines[1]?.spanId, span.spanContext().spanId);
    assert.equal(out.lines[1]?.orderId, 'o-1');
  });

  it('redacts credentials and payment details', () => {
    const out = capture();
    createLogger('t', 'info', out).info(
      { authorization: 'Bearer secret-token', req: { token: 'abc' }, paymentMethod: 'pm_card_visa' },
      'request',
    );
    const text = JSON.stringify(out.lines[0]);
    assert.ok(!text.includes('secret-token') && !text.includes('"abc"') && !text.includes('pm_card_visa'), text);
  });

  it('gives Temporal workflow and activity lines orderId and camel-case trace fields', () => {
    const out = capture();
    const log = temporalLogger(createLogger('worker', 'debug', out));
    log.info('Activity completed', {
      workflowId: 'checkout-7f1c',
      activityType: 'chargePayment',
      trace_id: TRACE,
      span_id: SPAN,
      trace_flags: '01',
    });
    log.log('WARN', 'Workflow task failed', { workflowId: 'other-workflow' });
    assert.deepEqual(
      {
        orderId: out.lines[0]?.orderId,
        traceId: out.lines[0]?.traceId,
        spanId: out.lines[0]?.spanId,
        flags: out.lines[0]?.trace_flags,
        level: out.lines[0]?.level,
      },
      { orderId: '7f1c', traceId: TRACE, spanId: SPAN, flags: undefined, level: 30 },
    );
    assert.equal(out.lines[1]?.orderId, undefined);
    assert.equal(out.lines[1]?.level, 40);
  });
});
