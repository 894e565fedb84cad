import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logger for one process. Secrets never reach it: callers log ids, not tokens,
 * and the redaction list is a second line of defence.
 *
 * @example
 * const logger = createLogger('relay', config.logLevel);
 */
export function createLogger(name: string, level: string): Logger {
  return pino({
    name,
    level,
    redact: { paths: ['authorization', '*.authorization', 'headers.authorization', 'token', '*.token', 'password', '*.password'], censor: '[redacted]' },
  });
}
