import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type Config } from './config';
import { createLogger, type Logger } from './logger';
import { onShutdownSignal } from './shutdown';

/** A process body: runs until `signal` aborts, then drains and resolves. */
export type ProcessMain = (config: Config, logger: Logger, signal: AbortSignal) => Promise<void>;

/**
 * Runs `main` when the module at `moduleUrl` is the process's entry point, with the parsed
 * configuration, a logger named `name` and the SIGINT/SIGTERM shutdown signal.
 *
 * @example
 * await runIfMain(import.meta.url, 'outbox-relay', runRelay);
 */
export async function runIfMain(moduleUrl: string, name: string, main: ProcessMain): Promise<void> {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return;
  const config = loadConfigOrExit();
  const logger = createLogger(name, config.logLevel);
  await main(config, logger, onShutdownSignal(logger));
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
