import {
  context as otelContext,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/** Instrumentation scope of the spans the relay and the consumer kit create. */
export const TRACER_NAME = 'checkout-saga/events';

// Used directly rather than through the global propagator, so the `traceparent` NATS header and
// envelope field are read and written the same way whether or not this process exports spans.
const w3c = new W3CTraceContextPropagator();

const headerGetter = {
  get: (carrier: Record<string, string | undefined>, key: string) => carrier[key],
  keys: (carrier: Record<string, string | undefined>) => Object.keys(carrier),
};

/** Formats a span context as a W3C `traceparent` value. */
export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * The `traceparent` of the span active in the current context, or `undefined` when there is none
 * (tracing off, or code running outside any traced operation).
 *
 * @example
 * const traceparent = activeTraceparent() ?? childTraceparent(order.traceparent, ids);
 */
export function activeTraceparent(): string | undefined {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && isSpanContextValid(sc) ? formatTraceparent(sc) : undefined;
}

/** A context whose parent is the span a `traceparent` value names; the root context if it names none. */
export function contextFromTraceparent(traceparent: string | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return w3c.extract(ROOT_CONTEXT, { traceparent }, headerGetter);
}

/**
 * Runs `fn` in a new span of `kind` whose parent is `traceparent`, ending it when `fn` settles and
 * marking it failed (with the exception recorded) if `fn` throws. `fn` gets the span's own
 * `traceparent`: the span's when it records, else the parent's, so what is passed on downstream
 * stays in the caller's trace even with tracing off.
 *
 * @example
 * await withMessagingSpan('publish checkout.order.placed', SpanKind.PRODUCER, row.headers.traceparent, attrs, (tp) => publish(tp));
 */
export async function withMessagingSpan<T>(
  name: string,
  kind: SpanKind,
  traceparent: string | undefined,
  attributes: Attributes,
  fn: (traceparent: string | undefined, span: Span) => Promise<T>,
): Promise<T> {
  const parent = contextFromTraceparent(traceparent);
  const span = trace.getTracer(TRACER_NAME).startSpan(name, { kind, attributes }, parent);
  const sc = span.spanContext();
  const own = isSpanContextValid(sc) ? formatTraceparent(sc) : traceparent;
  try {
    return await otelContext.with(trace.setSpan(parent, span), () => fn(own, span));
  } catch (err) {
    recordFailure(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Marks the active span failed with `err` recorded, for failures that are handled rather than thrown. */
export function markSpanFailed(err: unknown): void {
  const span = trace.getActiveSpan();
  if (span) recordFailure(span, err);
}

function recordFailure(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

export { SpanKind };
