import { NatsError } from 'nats';

/**
 * Resolves to undefined when JetStream answers 404 (no such stream or consumer); any other
 * failure (timeout, permissions, NATS down) still rejects.
 *
 * @example
 * const info = await missingAsUndefined(jsm.streams.info('PAYMENTS'));
 */
export async function missingAsUndefined<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof NatsError && err.api_error?.code === 404) return undefined;
    throw err;
  }
}
