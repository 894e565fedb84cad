import { createServer, type AddressInfo } from 'node:net';
import { runApi } from '../../api/server';
import type { Config } from '../../lib/config';
import type { Logger } from '../../lib/logger';

/**
 * Runs the real API in this process until `signal` aborts. `base` resolves to its URL once it
 * listens, or rejects if the API fails before that (so a test never waits forever).
 *
 * @example
 * const api = startApi(testConfig({ PORT: '0' }), logger, stop.signal);
 * running.push(api.running);
 * const base = await api.base;
 */
export function startApi(
  config: Config,
  logger: Logger,
  signal: AbortSignal,
): { running: Promise<void>; base: Promise<string> } {
  let onListening: (port: number) => void = () => undefined;
  const listening = new Promise<number>((resolve) => {
    onListening = resolve;
  });
  const running = runApi(config, logger, signal, onListening);
  const failedEarly = running.then(() => {
    throw new Error('the API stopped before it listened');
  });
  return { running, base: Promise.race([listening, failedEarly]).then((port) => `http://127.0.0.1:${port}`) };
}

/** A TCP port nobody listens on right now, for a child process to bind. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
