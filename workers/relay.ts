import { durationToMs, type Config } from '../lib/config';
import { createDb } from '../lib/db';
import type { Logger } from '../lib/logger';
import { runIfMain } from '../lib/main';
import { createProcessRegistry, startMetricsServer, type MetricsServer } from '../lib/metrics-server';
import { connectWhenReachable } from '../lib/connect-retry';
import { declareTeamDurables } from '../access/team-durables';
import { connectNats, declareStreams, isNatsUnreachable } from '../lib/nats';
import { createCrashPoints } from '../lib/crash-points';
import { createRelayMetrics } from '../outbox/metrics';
import { OUTBOX_PARTITIONS, OutboxRelay } from '../outbox/relay';

/**
 * The outbox relay process: declares the streams, then publishes the outbox partitions it owns
 * until `signal` aborts, finishing the batch in flight and draining the NATS connection. Run as
 * many as needed; they share the partitions among themselves. With METRICS_ADDRESS set it serves
 * its Prometheus metrics there (outbox backlog and age, publish latency and errors, partitions
 * owned, process metrics).
 *
 * @example
 * await runRelay(loadConfig(), logger, signal);
 */
export async function runRelay(config: Config, logger: Logger, signal: AbortSignal): Promise<void> {
  const nc = await connectWhenReachable(
    'NATS',
    () => connectNats(config.nats, 'checkout-outbox-relay'),
    isNatsUnreachable,
    { logger, signal },
  );
  const db = createDb(config.database.url, {
    max: 2,
    applicationName: 'checkout-outbox-relay',
    timeouts: config.database.timeouts,
  });
  let metricsServer: MetricsServer | undefined;
  try {
    const registry = createProcessRegistry();
    const metrics = createRelayMetrics(registry, {
      db,
      partitions: OUTBOX_PARTITIONS,
      onScrapeError: (err) => logger.warn({ err }, 'could not read the outbox backlog for metrics'),
    });
    if (config.metrics.address)
      metricsServer = await startMetricsServer(config.metrics.address, registry, logger, signal);
    await declareStreams(nc, config.nats);
    await declareTeamDurables(await nc.jetstreamManager(), logger);
    const relay = new OutboxRelay(
      {
        db,
        js: nc.jetstream(),
        logger,
        metrics,
        crashPoints: createCrashPoints(config.crashPoints, (name) =>
          logger.warn({ crashPoint: name }, 'crash point reached: dying'),
        ),
      },
      {
        batchSize: config.relay.batchSize,
        windowSize: config.relay.window,
        pollIntervalMs: durationToMs(config.relay.pollInterval),
        rebalanceIntervalMs: durationToMs(config.relay.rebalanceInterval),
        publishTimeoutMs: 5_000,
        retentionMs: 86_400_000,
      },
    );
    await relay.run(signal);
  } finally {
    await metricsServer?.close();
    await nc.drain();
    await db.end();
  }
}

await runIfMain(import.meta.url, 'outbox-relay', runRelay);
