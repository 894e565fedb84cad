import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';
import { DEFAULT_MAX_AGE_MS, ensureStreams } from '../events/streams';
import { durationToMs, type Config } from './config';

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

// NATS errors have one home, events/nats-errors.ts; the connection helpers' callers take this one from here.
export { isNatsUnreachable } from '../events/nats-errors';

/**
 * Declares every stream with this deployment's settings. Each process that publishes or consumes
 * calls it at start, so start-up order does not matter (a subscriber may start before the relay).
 *
 * @example
 * await declareStreams(nc, config.nats);
 */
export async function declareStreams(nc: NatsConnection, config: Config['nats']): Promise<void> {
  await ensureStreams(await nc.jetstreamManager(), {
    replicas: config.streamReplicas,
    duplicateWindowMs: durationToMs(config.duplicateWindow),
    maxAgeMs: DEFAULT_MAX_AGE_MS,
  });
}
