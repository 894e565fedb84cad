import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Config } from './config';

/** What a process needs to trace: whether spans are recorded, and how workflow spans leave the sandbox. */
export interface Tracing {
  /** False when `OTEL_TRACES_EXPORTER=none` (the default): no provider is registered, nothing is recorded. */
  readonly enabled: boolean;
  /** The processor every span goes through; the worker hands it to Temporal's workflow span sink. */
  readonly spanProcessor: SpanProcessor | undefined;
  readonly resource: Resource;
  /** Flushes buffered spans and stops exporting; call once at process exit. */
  shutdown(): Promise<void>;
}

/** Where spans go, chosen by configuration or (tests) given directly. */
export type TracingExporter = Config['tracing'] | { spanExporter: SpanExporter; sampleRatio?: number };

function processorFor(choice: TracingExporter): SpanProcessor | undefined {
  if ('spanExporter' in choice) return new SimpleSpanProcessor(choice.spanExporter);
  switch (choice.exporter) {
    case 'none':
      return undefined;
    case 'console':
      // Synchronous so a span prints next to the log lines of the same work.
      return new SimpleSpanProcessor(new ConsoleSpanExporter());
    case 'otlp':
      return new BatchSpanProcessor(new OTLPTraceExporter({ url: choice.otlpTracesUrl }));
  }
}

/**
 * Registers this process's OpenTelemetry tracer provider: W3C `traceparent` propagation,
 * AsyncLocalStorage context, a parent-based ratio sampler and the configured exporter (OTLP over
 * HTTP, console, or none). Entry points call it once, before any client or worker is created;
 * with the exporter `none` it registers nothing, so the OpenTelemetry API stays a no-op.
 *
 * @example
 * const tracing = startTracing(config.tracing, 'outbox-relay');
 * try { await runRelay(config, logger, signal); } finally { await tracing.shutdown(); }
 */
export function startTracing(choice: TracingExporter, serviceName: string): Tracing {
  const resource = new Resource({ [ATTR_SERVICE_NAME]: serviceName, [ATTR_SERVICE_VERSION]: '0.1.0' });
  const spanProcessor = processorFor(choice);
  if (!spanProcessor) return { enabled: false, spanProcessor, resource, shutdown: async () => undefined };
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [spanProcessor],
    // Always honour the caller's decision; sample only traces that start here.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(choice.sampleRatio ?? 1) }),
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return { enabled: true, spanProcessor, resource, shutdown: () => provider.shutdown() };
}
