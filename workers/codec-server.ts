import type { Server } from 'node:http';
import { serve, type ServerType } from '@hono/node-server';
import { createAuthenticator } from '../auth/authenticate';
import { trackHttpConnections } from '../lib/http-drain';
import { createCodecApp } from '../codec-server/app';
import { durationToMs, type Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { runIfMain } from '../lib/main';
import { EncryptionCodec } from '../lib/payload-codec';
import { drainBudgetMs, untilAborted } from '../lib/shutdown';

/**
 * Runs the codec server (codec-server/app.ts) on CODEC_SERVER_HOST:CODEC_SERVER_PORT until
 * `signal` aborts, then lets in-flight requests finish. It holds the payload keys and nothing
 * else: no Temporal, database or NATS connection.
 *
 * @example
 * await runCodecServer(loadConfig(), logger, signal, (port) => console.log(port));
 */
export async function runCodecServer(
  config: Config,
  logger: Logger,
  signal: AbortSignal,
  onListening?: (port: number) => void,
): Promise<void> {
  const { payloadKeys } = config.temporal;
  // Never true in production: lib/config.ts refuses the development key there (exit 2 before this
  // runs), so the tokenless path for the UI's origins below exists only on a developer's machine.
  if (payloadKeys.usingDevKey) {
    logger.warn(
      'PAYLOAD_KEYS is not set: using the public development key, and the Web UI origins may decode without a token (never do this in production)',
    );
  }
  const app = createCodecApp({
    codec: new EncryptionCodec(payloadKeys),
    authenticator: createAuthenticator({ serviceTokens: config.api.serviceTokens, jwt: config.auth.jwt }),
    corsOrigins: config.codecServer.corsOrigins,
    openToUiOrigins: payloadKeys.usingDevKey,
    logger,
  });
  const { host, port } = config.codecServer;
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
      logger.info(
        { port: info.port, host, corsOrigins: config.codecServer.corsOrigins, keys: payloadKeys.keys.map((k) => k.id) },
        'codec server listening',
      );
      onListening?.(info.port);
      resolve(s);
    });
  });
  const connections = trackHttpConnections(server as Server, logger);
  await untilAborted(signal);
  await connections.drain(drainBudgetMs(durationToMs(config.shutdown.gracePeriod)));
  logger.info('codec server stopped');
}

await runIfMain(import.meta.url, 'codec-server', (config, logger, signal) => runCodecServer(config, logger, signal));
