import type { Logger } from './logger';

/**
 * Resolves an AbortSignal on the first SIGINT or SIGTERM; a second signal exits at once.
 * Entry points pass the signal to their loops, then close resources in order.
 *
 * @example
 * const signal = onShutdownSignal(logger);
 * await relay.run(signal);
 */
export function onShutdownSignal(logger: Logger): AbortSignal {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      logger.warn({ signal: sig }, 'second signal: exiting now');
      process.exit(130);
    }
    logger.info({ signal: sig }, 'shutting down: draining in-flight work');
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return controller.signal;
}
