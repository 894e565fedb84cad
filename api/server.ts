import type { Server } from 'node:http';
import { serve, type ServerType } from '@hono/node-server';
import type { Client } from '@temporalio/client';
import { createSimulatedPaymentProvider } from '../activities/providers/payment-provider';
import { createAuthenticator } from '../auth/authenticate';
import { durationToMs, type Config } from '../lib/config';
import { createDb, type Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import { runIfMain } from '../lib/main';
import { connectWhenReachable } from '../lib/connect-retry';
import { connectNats, isNatsUnreachable } from '../lib/nats';
import { randomIds, systemClock } from '../lib/runtime';
import { drainBudgetMs, untilAborted } from '../lib/shutdown';
import { createTemporalClient } from '../lib/temporal';
import { createCrashPoints } from '../lib/crash-points';
import { createSagaClient } from '../checkouts/saga-client';
import { createCheckoutService } from '../checkouts/service';
import { createApp } from './app';
import { trackHttpConnections } from '../lib/http-drain';
import { createKeySweepMetrics, runKeySweeper } from '../checkouts/key-retention';
import { createHttpMetrics } from './metrics';
import { postgresRateLimiter, runRateLimitSweeper } from './rate-limiter';

/** Idempotency-Keys are remembered for 24 hours (documented in the README). */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/** How often the API deletes the rate-limit rows of principals whose quota is whole again. */
// Both sweeps (idle rate-limit rows, expired Idempotency-Keys) run once a minute, off the request path.
const SWEEP_INTERVAL_MS = 60_000;

/** Warnings about settings that are fine for development and wrong in production. */
function warnAboutDevSettings(config: Config, logger: Logger): void {
  if (config.api.usingDevToken)
    logger.warn('API_TOKENS is not set: using the development token (never do this in production)');
  if (config.webhooks.usingDevSecret)
    logger.warn('PAYMENT_WEBHOOK_SECRET is not set: using the development secret (never do this in production)');
  if (config.webhooks.paymentSecrets.length === 0)
    logger.warn('PAYMENT_WEBHOOK_SECRET is not set: every payment provider notification is refused');
  if (config.temporal.payloadKeys.usingDevKey)
    logger.warn(
      'PAYLOAD_KEYS is not set: saga payloads are encrypted with the public development key (never do this in production)',
    );
  if (!config.auth.jwt) logger.info('AUTH_JWKS_URL is not set: only the service tokens of API_TOKENS are accepted');
}

/**
 * Runs the HTTP API until `signal` aborts, then stops accepting connections, lets in-flight
 * requests finish, and closes its clients.
 *
 * @example
 * await runApi(loadConfig(), logger, signal, (port) => console.log(port));
 */
export async function runApi(
  config: Config,
  logger: Logger,
  signal: AbortSignal,
  onListening?: (port: number) => void,
): Promise<void> {
  // NATS may still be starting (any start order works): wait for it, logging why. Temporal is not
  // waited for: checkouts are accepted without it (the saga starter starts their sagas later), so
  // its client connects lazily and each call to it has its own deadline.
  const ready = { logger, signal };
  const nc = await connectWhenReachable(
    'NATS',
    () => connectNats(config.nats, 'checkout-api'),
    isNatsUnreachable,
    ready,
  );
  const temporal = await createTemporalClient(config.temporal, { lazy: true }).catch(async (err: unknown) => {
    await nc.drain();
    throw err;
  });
  const db = createDb(config.database.url, {
    max: config.database.poolMax,
    applicationName: 'checkout-api',
    timeouts: config.database.timeouts,
  });
  const sweeper = new AbortController();
  let sweeping: Promise<void> | undefined;
  let sweepingKeys: Promise<void> | undefined;
  const httpMetrics = createHttpMetrics();
  try {
    warnAboutDevSettings(config, logger);
    const app = createApp({
      db,
      checkouts: checkoutServiceFor(config, { db, temporal, logger }),
      authenticator: createAuthenticator({ serviceTokens: config.api.serviceTokens, jwt: config.auth.jwt }),
      rateLimits: { limiter: postgresRateLimiter(db), quotas: config.rateLimits },
      paymentWebhookSecrets: config.webhooks.paymentSecrets,
      clock: systemClock,
      logger,
      metrics: httpMetrics,
      readiness: {
        postgres: {
          required: true,
          check: async () => {
            await db.query('SELECT 1');
          },
        },
        nats: {
          required: false,
          impact: 'checkouts are accepted; their events are published once NATS is back',
          check: async () => {
            await nc.flush();
          },
        },
        temporal: {
          required: false,
          impact:
            'checkouts are accepted; their sagas start once Temporal is back; cancels and payment confirmations of started sagas answer 503',
          check: async () => {
            await temporal.connection.withDeadline(Date.now() + 2_000, () =>
              temporal.connection.workflowService.getSystemInfo({}),
            );
          },
        },
      },
    });
    sweeping = runRateLimitSweeper(db, { intervalMs: SWEEP_INTERVAL_MS, logger, signal: sweeper.signal });
    sweepingKeys = runKeySweeper(db, {
      intervalMs: SWEEP_INTERVAL_MS,
      logger,
      signal: sweeper.signal,
      metrics: createKeySweepMetrics(httpMetrics.registry),
    });
    const server = await listen(app, config, logger, onListening);
    // serve() without a createServer option builds a node:http Server.
    const connections = trackHttpConnections(server as Server, logger);
    await untilAborted(signal);
    await connections.drain(drainBudgetMs(durationToMs(config.shutdown.gracePeriod)));
    logger.info('API stopped');
  } finally {
    sweeper.abort();
    await sweeping;
    await sweepingKeys;
    await nc.drain();
    await temporal.connection.close();
    await db.end();
  }
}

/** The checkout service over this process's clients, with the deadlines and key TTL from the configuration. */
function checkoutServiceFor(config: Config, clients: { db: Db; temporal: Client; logger: Logger }) {
  const saga = createSagaClient({
    temporal: clients.temporal,
    taskQueue: config.temporal.taskQueue,
    ids: randomIds,
    deadlines: {
      paymentConfirmationTimeoutMs: durationToMs(config.saga.paymentConfirmationTimeout),
      compensationAlertAfterMs: durationToMs(config.saga.compensationAlertAfter),
    },
    logger: clients.logger,
  });
  return createCheckoutService({
    db: clients.db,
    saga,
    clock: systemClock,
    ids: randomIds,
    idempotencyTtlMs: IDEMPOTENCY_TTL_MS,
    // The provider the saga worker charges with: the API asks it which payment methods exist.
    paymentMethods: createSimulatedPaymentProvider({ db: clients.db, ids: randomIds }),
    logger: clients.logger,
    crashPoints: createCrashPoints(config.crashPoints, (name) =>
      clients.logger.warn({ crashPoint: name }, 'crash point reached: dying'),
    ),
  });
}

/** Starts the HTTP server; resolves once it listens. */
function listen(
  app: ReturnType<typeof createApp>,
  config: Config,
  logger: Logger,
  onListening: ((port: number) => void) | undefined,
): Promise<ServerType> {
  return new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.http.port, hostname: config.http.host }, (info) => {
      logger.info({ port: info.port, host: config.http.host }, 'API listening');
      onListening?.(info.port);
      resolve(s);
    });
  });
}

await runIfMain(import.meta.url, 'api', (config, logger, signal) => runApi(config, logger, signal));
