import { fileURLToPath } from 'node:url';
import { ConfigError, durationToMs, loadConfig, type Config } from './config';
import { StoppedBeforeReady } from './connect-retry';
import { createLogger, type Logger } from './logger';
import { onShutdownSignal } from './shutdown';
import { startTracing, type Tracing } from './tracing';

/** A process body: runs until `signal` aborts, then drains and resolves. */
export type ProcessMain = (config: Config, logger: Logger, signal: AbortSignal, tracing: Tracing) => Promise<void>;

/**
 * Runs `main` when the module at `moduleUrl` is the process's entry point, with the parsed
 * configuration, a logger named `name`, the SIGINT/SIGTERM shutdown signal and the process's
 * tracing (registered before `main` runs, flushed after it returns; service name `name`). Once `main` has
 * drained and resolved the process exits 0; if it throws a `ConfigError`, 2; otherwise 1. `SHUTDOWN_GRACE_PERIOD` bounds the
 * drain (see `onShutdownSignal`).
 *
 * @example
 * await runIfMain(import.meta.url, 'outbox-relay', runRelay);
 */
export async function runIfMain(moduleUrl: string, name: string, main: ProcessMain): Promise<void> {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return;
  const config = loadConfigOrExit();
  const logger = createLogger(name, config.logLevel);
  const signal = onShutdownSignal(logger, { gracePeriodMs: durationToMs(config.shutdown.gracePeriod) });
  const tracing = startTracing(config.tracing, name);
  try {
    await main(config, logger, signal, tracing);
  } catch (err) {
    if (err instanceof StoppedBeforeReady) {
      logger.info(err.message);
      process.exit(0);
    }
    // Configuration found wrong only once the process could check it (payload keys against the
    // cluster's sagas): the same exit status as an invalid environment.
    if (err instanceof ConfigError) {
      logger.fatal(err.message);
      await tracing.shutdown().catch((flushErr: unknown) => logger.warn({ err: flushErr }, 'could not flush spans'));
      process.exit(2);
    }
    logger.fatal({ err }, `${name} failed`);
    await tracing.shutdown().catch((flushErr: unknown) => logger.warn({ err: flushErr }, 'could not flush spans'));
    process.exit(1);
  }
  await tracing.shutdown().catch((err: unknown) => logger.warn({ err }, 'could not flush spans'));
  logger.info(signal.aborted ? 'drained; exiting' : 'finished; exiting');
  // Exit explicitly: everything that matters is closed, and a handle some library keeps open
  // (a native runtime thread, a pooled socket) must not turn a clean drain into a forced exit.
  process.exit(0);
}

/**
 * Parses the configuration for a command-line entry point: an invalid environment prints the
 * list of bad variables (no stack trace) and exits with status 2.
 *
 * @example
 * const config = loadConfigOrExit();
 */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
}
