import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import type { Logger } from './logger';

const WORKFLOW_ID_PREFIX = 'checkout-';

/** Temporal's OpenTelemetry interceptors name trace fields in snake case; our lines use camel case. */
function normalise(meta: LogMetadata | undefined): Record<string, unknown> {
  if (!meta) return {};
  const { trace_id: traceId, span_id: spanId, trace_flags: _flags, ...rest } = meta;
  const out: Record<string, unknown> = { ...rest };
  if (traceId !== undefined) out.traceId = traceId;
  if (spanId !== undefined) out.spanId = spanId;
  // Every saga's workflow id is `checkout-<orderId>`: give its lines (and its activities') the
  // order id too, so one query on orderId finds the whole life of an order.
  const workflowId = rest.workflowId;
  if (out.orderId === undefined && typeof workflowId === 'string' && workflowId.startsWith(WORKFLOW_ID_PREFIX)) {
    out.orderId = workflowId.slice(WORKFLOW_ID_PREFIX.length);
  }
  return out;
}

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Temporal's logger interface over the process's pino logger, so workflow (`log` from
 * `@temporalio/workflow`), activity and SDK lines come out as the same JSON as everything else,
 * with `workflowId`, `orderId` and `traceId` fields. Install it with `Runtime.install({ logger })`.
 *
 * @example
 * Runtime.install({ logger: temporalLogger(logger.child({ component: 'temporal' })) });
 */
export function temporalLogger(logger: Logger): TemporalLogger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    logger[LEVELS[level]](normalise(meta), message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}
