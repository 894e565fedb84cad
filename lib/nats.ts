import { existsSync } from 'node:fs';
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
  Object.assign(options, await natsCredentials(config));
  return connect(options);
}

/**
 * The authentication part of a connection's options from the configuration: a token, a creds
 * file, a user and password, or (outside production, with none of these) the local stack's admin.
 * A user's replies arrive under `_INBOX.<user>`, the one inbox its permissions let it read.
 */
export async function natsCredentials(
  config: Config['nats'],
): Promise<Pick<ConnectionOptions, 'token' | 'authenticator' | 'user' | 'pass' | 'inboxPrefix'>> {
  if (config.token) return { token: config.token };
  if (config.credsFile) return { authenticator: credsAuthenticator(await readFile(config.credsFile)) };
  const user =
    config.user ??
    (config.stackAdminFile && existsSync(config.stackAdminFile)
      ? { name: 'admin', password: stackAdminPassword(await readFile(config.stackAdminFile, 'utf8')) }
      : undefined);
  if (!user) return {};
  return { user: user.name, pass: user.password, inboxPrefix: inboxPrefix(user.name) };
}

function stackAdminPassword(text: string): string {
  const parsed = JSON.parse(text) as { nats?: unknown };
  if (typeof parsed.nats !== 'string') throw new Error('the stack admin secrets file has no NATS password');
  return parsed.nats;
}

/** The inbox prefix of a user: replies to its requests, and pull deliveries, arrive below it (its permissions allow no other). */
export function inboxPrefix(user: string): string {
  return `_INBOX.${user}`;
}

// NATS errors have one home, events/nats-errors.ts; the connection helpers' callers take this one from here.
export { isNatsUnreachable } from '../events/nats-errors';

/**
 * Declares every stream with this deployment's settings. The outbox relay, the one principal
 * allowed to (access/nats-permissions.ts), calls it at start; so do tests and tools running as the
 * stack's admin. A subscriber started before the relay retries its consumer until the streams exist.
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
