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

// The one home of W3C trace context in this repository: the `traceparent` format, new and child
// values, and the messaging spans the relay and the consumer kit create around them.

/** Instrumentation scope of the spans the relay and the consumer kit create. */
export const TRACER_NAME = 'checkout-saga/events';

/** A W3C `traceparent` value: version 00, 32-hex trace id, 16-hex span id, 2-hex flags. */
export const TRACEPARENT_PATTERN = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

const TRACE_ID_PATTERN = /^[0-9a-f]{32}$/;

/** Random hex for new trace and span ids; the app's injected `Ids` fits, so tests can pin them. */
export interface RandomHex {
  /** `bytes` random bytes as lower-case hex. */
  hex(bytes: number): string;
}

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
 * A new W3C traceparent: a fresh trace, sampled.
 *
 * @example
 * newTraceparent(randomIds); // '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
 */
export function newTraceparent(ids: RandomHex): string {
  return `00-${ids.hex(16)}-${ids.hex(8)}-01`;
}

/**
 * A traceparent in the same trace as `parent`, with a new span id; a new trace when `parent` is
 * not a traceparent.
 *
 * @example
 * childTraceparent(order.traceparent, ids);
 */
export function childTraceparent(parent: string, ids: RandomHex): string {
  const traceId = parent.split('-')[1];
  return traceId && TRACE_ID_PATTERN.test(traceId) ? `00-${traceId}-${ids.hex(8)}-01` : newTraceparent(ids);
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

/** A span started by `startMessagingSpan`: the `traceparent` to pass on, and how to end it. */
export interface OpenSpan {
  /** The span's own `traceparent`, else the parent's (as `withMessagingSpan` passes on). */
  traceparent: string | undefined;
  /** Ends the span, marked failed with `err` recorded when given. */
  end(err?: unknown): void;
  /** Runs `fn` with the span active (for log lines that carry the trace id); the rest runs outside it. */
  inContext<T>(fn: () => T): T;
}

/**
 * The hot-path form of `withMessagingSpan`, for one span per message at thousands a second: the
 * parent is read from `traceparent` without the propagator, nothing runs inside the span's context
 * (no `context.with`), and `attributes` is only called when the span records, so with tracing
 * off a message costs one no-op span. Samplers therefore do not see the attributes.
 *
 * @example
 * const span = startMessagingSpan(`publish ${row.subject}`, SpanKind.PRODUCER, row.headers.traceparent, () => attrs);
 * try { await publish(span.traceparent); span.end(); } catch (err) { span.end(err); throw err; }
 */
export function startMessagingSpan(
  name: string,
  kind: SpanKind,
  traceparent: string | undefined,
  attributes: () => Attributes,
): OpenSpan {
  const parent = parentContext(traceparent);
  const span = trace.getTracer(TRACER_NAME).startSpan(name, { kind }, parent);
  if (span.isRecording()) span.setAttributes(attributes());
  const sc = span.spanContext();
  return {
    traceparent: isSpanContextValid(sc) ? formatTraceparent(sc) : traceparent,
    end(err?: unknown) {
      if (err !== undefined) recordFailure(span, err);
      span.end();
    },
    inContext: (fn) => otelContext.with(trace.setSpan(parent, span), fn),
  };
}

/** `contextFromTraceparent` for a well-formed value, without the propagator's general parsing. */
function parentContext(traceparent: string | undefined): Context {
  if (!traceparent || !TRACEPARENT_PATTERN.test(traceparent)) return contextFromTraceparent(traceparent);
  const sc: SpanContext = {
    traceId: traceparent.slice(3, 35),
    spanId: traceparent.slice(36, 52),
    traceFlags: Number.parseInt(traceparent.slice(53, 55), 16),
    isRemote: true,
  };
  return isSpanContextValid(sc) ? trace.setSpanContext(ROOT_CONTEXT, sc) : ROOT_CONTEXT;
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
