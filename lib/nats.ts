import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';
import type { Config } from './config';

/**
 * Connects to NATS with endless reconnects: a NATS restart pauses work, it never ends a process.
 *
 * @example
 * const nc = await connectNats(config.nats, 'outbox-relay');
 */
export async function connectNats(config: Config['nats'], name: string): Promise<NatsConnection> {
  const options: ConnectionOptions = {
    servers: config.servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
  };
  if (config.token) options.token = config.token;
  if (config.credsFile) options.authenticator = credsAuthenticator(await readFile(config.credsFile));
  return connect(options);
}
