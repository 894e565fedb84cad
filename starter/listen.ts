import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import { sleep } from '../lib/wait';
import { SAGA_STARTS_CHANNEL } from './queue';

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;

/**
 * Holds one connection LISTENing on `saga_starts` until `signal` aborts, calling `wake` on every
 * NOTIFY (one per committed checkout) and once after each (re)connect, since notifications sent
 * while it was away are lost. A lost connection is replaced with backoff; meanwhile the starter's
 * poll still finds every row, only later.
 *
 * @example
 * await Promise.all([listenForStarts(db, () => starter.wake(), logger, signal), starter.run(signal)]);
 */
export async function listenForStarts(db: Db, wake: () => void, logger: Logger, signal: AbortSignal): Promise<void> {
  let retryMs = RETRY_MIN_MS;
  while (!signal.aborted) {
    let lost: Error | undefined;
    try {
      const client = await db.connect();
      let ended: () => void = () => undefined;
      const gone = new Promise<void>((resolve) => {
        ended = resolve;
      });
      const onError = (err: Error) => {
        lost = err;
        ended();
      };
      client.on('error', onError);
      client.on('notification', wake);
      signal.addEventListener('abort', ended, { once: true });
      // An abort while connecting fired before the listener existed: it would never end `gone`.
      if (signal.aborted) ended();
      try {
        await client.query(`LISTEN ${SAGA_STARTS_CHANNEL}`);
        retryMs = RETRY_MIN_MS;
        wake();
        await gone;
      } finally {
        signal.removeEventListener('abort', ended);
        client.off('notification', wake);
        // Never back to the pool: a pooled connection would keep listening for someone else.
        client.release(true);
      }
    } catch (err) {
      lost = err as Error;
    }
    if (lost && !signal.aborted) {
      logger.warn({ err: lost, retryInMs: retryMs }, 'saga starter lost its LISTEN connection; polling meanwhile');
      await sleep(retryMs, signal);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    }
  }
}
