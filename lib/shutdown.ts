import { constants } from 'node:os';
import type { Logger } from './logger';

/**
 * A repeat of the signal within this long of the first is the same request, not an escalation:
 * Ctrl-C reaches every process of the terminal's group while `npm start` (and npm, tsx) also
 * forward it, so one keypress often arrives twice.
 */
const SIGNAL_ECHO_MS = 1_000;

/** Time kept back from the grace period for closing clients and pools after the main drain. */
const CLOSE_RESERVE_MS = 5_000;

export interface ShutdownOptions {
  /** From the first signal, how long the drain may take before the process is forced out. */
  gracePeriodMs: number;
}

/**
 * Aborts the returned signal on the first SIGINT or SIGTERM. The process then has
 * `gracePeriodMs` to drain; when it expires, or on a second signal (sent after the first one's
 * echo window), the process exits at once with a log line saying so. Entry points pass the
 * signal to their loops, then close resources in order.
 *
 * @example
 * const signal = onShutdownSignal(logger, { gracePeriodMs: 25_000 });
 * await relay.run(signal);
 */
export function onShutdownSignal(logger: Logger, options: ShutdownOptions): AbortSignal {
  const controller = new AbortController();
  let firstAt = 0;
  const handler = (sig: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      firstAt = Date.now();
      logger.info({ signal: sig, gracePeriodMs: options.gracePeriodMs }, 'shutting down: draining in-flight work');
      // Unref'd: a drain that finishes early must not be held open by its own deadline.
      setTimeout(() => {
        logger.error(
          { gracePeriodMs: options.gracePeriodMs },
          'shutdown grace period expired before the drain finished: forcing exit',
        );
        process.exit(1);
      }, options.gracePeriodMs).unref();
      controller.abort();
      return;
    }
    if (Date.now() - firstAt < SIGNAL_ECHO_MS) {
      logger.debug({ signal: sig }, 'repeated shutdown signal within the echo window; still draining');
      return;
    }
    logger.warn({ signal: sig }, `second ${sig} while draining: forcing exit without finishing in-flight work`);
    process.exit(128 + (constants.signals[sig] ?? 0));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return controller.signal;
}

/**
 * Resolves once `signal` aborts, at once if it already has: a signal received while a process was
 * still starting must still stop it.
 *
 * @example
 * await worker.runUntil(untilAborted(signal));
 */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/**
 * The share of the grace period a process gives its main drain (HTTP requests, activities),
 * keeping time back to close its clients and pools before the forced exit.
 *
 * @example
 * drainBudgetMs(25_000); // 20_000
 */
export function drainBudgetMs(gracePeriodMs: number): number {
  return Math.max(gracePeriodMs - CLOSE_RESERVE_MS, Math.round(gracePeriodMs / 2));
}
