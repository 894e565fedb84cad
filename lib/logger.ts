import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Trace and span of the work being logged, so a line can be joined to its trace. */
function traceFields(): { traceId?: string; spanId?: string } {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : {};
}

/**
 * Structured JSON logger for one process. Every line logged inside a traced operation (an API
 * request, an activity, a relay publish, a consumer's handling) carries `traceId` and `spanId`.
 * Secrets never reach it: callers log ids, not tokens, card data or addresses, and the
 * redaction list is a second line of defence.
 *
 * @example
 * const logger = createLogger('relay', config.logLevel);
 * logger.info({ orderId, eventId }, 'event published');
 */
export function createLogger(name: string, level: string, destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    mixin: traceFields,
    redact: {
      paths: [
        'authorization',
        '*.authorization',
        'headers.authorization',
        'token',
        '*.token',
        'password',
        '*.password',
        'paymentMethod',
        '*.paymentMethod',
        'shippingAddress',
        '*.shippingAddress',
      ],
      censor: '[redacted]',
    },
  };
  // Tests pass a destination to read the lines back; processes write to stdout.
  return destination ? pino(options, destination) : pino(options);
}
