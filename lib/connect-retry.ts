import type { Logger } from './logger';
import { sleep } from './wait';

/** Thrown when the process is asked to stop while it still waits for a dependency at start-up. */
export class StoppedBeforeReady extends Error {
  override name = 'StoppedBeforeReady';
}

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5_000;

/**
 * Connects to a dependency at start-up, retrying with capped exponential backoff (0.25 s to 5 s)
 * for as long as `isUnreachable` says the failure is the dependency being down, logging each
 * wait. Processes can then start in any order and ride out a dependency's restart at start-up
 * instead of exiting. Any other failure (bad credentials, a bad address) is thrown at once; a
 * shutdown signal while waiting throws `StoppedBeforeReady`.
 *
 * @example
 * const nc = await connectWhenReachable('NATS', () => connectNats(config.nats, name), isNatsUnreachable, { logger, signal });
 */
export async function connectWhenReachable<T>(
  what: string,
  connect: () => Promise<T>,
  isUnreachable: (err: unknown) => boolean,
  { logger, signal }: { logger: Logger; signal: AbortSignal },
): Promise<T> {
  let delay = FIRST_DELAY_MS;
  for (let attempt = 1; ; attempt += 1) {
    if (signal.aborted) throw new StoppedBeforeReady(`stopped while waiting for ${what}`);
    try {
      const connection = await connect();
      if (attempt > 1) logger.info({ attempts: attempt }, `${what} reachable; continuing start-up`);
      return connection;
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      logger.warn(
        { err: err instanceof Error ? err.message : String(err), attempt, retryInMs: delay },
        `${what} unreachable; waiting for it`,
      );
      await sleep(delay, signal);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }
}
