import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { classifyNatsError, NATS_FAILURES, type NatsFailure } from '../events/nats-errors';
import { withTransaction, type Db } from '../lib/db';

/** Why a publish failed, as the bounded `reason` label of `outbox_publish_errors_total`. */
export type PublishErrorReason = NatsFailure;

export const PUBLISH_ERROR_REASONS: readonly PublishErrorReason[] = NATS_FAILURES;

/**
 * Maps a publish failure to a small fixed set of reasons (the one NATS error classifier); the
 * error's message (which can name a subject or an id) never becomes a label.
 *
 * @example
 * publishErrorReason(NatsError.errorForCode('TIMEOUT')); // 'timeout'
 */
export const publishErrorReason: (err: unknown) => PublishErrorReason = classifyNatsError;

/** The part of a relay the metrics read at scrape time. */
export interface RelayStatusSource {
  status(): { ownedPartitions: number[]; members: number };
}

/**
 * What the outbox relay reports, injected through its deps; `noopRelayMetrics` when absent.
 */
export interface RelayMetrics {
  /** One row acknowledged by JetStream: publish-to-ack time, and the row's `created_at`. */
  published(publishSeconds: number, createdAt: Date): void;
  /** One publish that failed (the row stays unpublished and is retried). */
  publishFailed(err: unknown): void;
  /** The relay's database session failed (it drops its partitions and reconnects). */
  sessionFailed(): void;
  /** Reads `relay`'s partitions at every scrape until the returned function is called. */
  watch(relay: RelayStatusSource): () => void;
}

/**
 * Relay metrics that record nothing.
 *
 * @example
 * new OutboxRelay({ db, js, logger, metrics: noopRelayMetrics }, options);
 */
export const noopRelayMetrics: RelayMetrics = {
  published: () => undefined,
  publishFailed: () => undefined,
  sessionFailed: () => undefined,
  watch: () => () => undefined,
};

/** Beyond this many unpublished rows the backlog gauge saturates, so a scrape stays cheap during an outage. */
export const BACKLOG_COUNT_CAP = 100_000;

/**
 * The outbox's backlog, read with a bounded query: the count stops at `BACKLOG_COUNT_CAP` rows of
 * the partial index `outbox_unpublished_partition_idx`, and the oldest row is one index probe per
 * partition (its lowest unpublished id), so the cost does not grow with an outage's backlog.
 * Ages use the database clock. Runs under a 2 s statement timeout.
 *
 * @example
 * const { rows, oldestAgeSeconds } = await outboxBacklog(db, 64);
 */
export async function outboxBacklog(db: Db, partitions: number): Promise<{ rows: number; oldestAgeSeconds: number }> {
  return withTransaction(db, async (tx) => {
    await tx.query(`SET LOCAL statement_timeout = '2s'`);
    const { rows } = await tx.query<{ backlog: number; oldest_age: number | null }>(
      `SELECT
         (SELECT count(*) FROM (SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT $1) AS capped)::int AS backlog,
         (SELECT extract(epoch FROM clock_timestamp() - min(o.created_at))::float8
            FROM generate_series(0, $2::int - 1) AS p
            CROSS JOIN LATERAL (
              SELECT created_at FROM outbox WHERE published_at IS NULL AND partition = p::smallint ORDER BY id LIMIT 1) AS o
         ) AS oldest_age`,
      [BACKLOG_COUNT_CAP, partitions],
    );
    return { rows: rows[0]?.backlog ?? 0, oldestAgeSeconds: Math.max(0, rows[0]?.oldest_age ?? 0) };
  });
}

/**
 * Prometheus metrics of the outbox and its relay, on the process's own `registry`:
 *
 * - `outbox_backlog_rows`, `outbox_oldest_unpublished_age_seconds`: read from the database at
 *   scrape time (the whole outbox, not just this relay's partitions; take `max` across relays);
 * - `outbox_published_total`, `outbox_publish_errors_total{reason}`, `outbox_relay_session_errors_total`;
 * - `outbox_publish_duration_seconds` (publish to JetStream ack) and `outbox_commit_to_ack_seconds`
 *   (row written to ack; relay clock minus database clock, so clock skew shows here);
 * - `outbox_partitions_owned`, `outbox_relay_members`: this relay's share, at scrape time.
 *
 * @example
 * const registry = new Registry();
 * const metrics = createRelayMetrics(registry, { db, partitions: OUTBOX_PARTITIONS, onScrapeError: (err) => logger.warn({ err }, 'outbox backlog unreadable') });
 */
export function createRelayMetrics(
  registry: Registry,
  options: { db: Db; partitions: number; onScrapeError?: (err: unknown) => void; now?: () => number },
): RelayMetrics {
  const now = options.now ?? Date.now;
  const onScrapeError = options.onScrapeError ?? (() => undefined);
  const relays = new Set<RelayStatusSource>();
  let snapshot: { at: number; value: Promise<{ rows: number; oldestAgeSeconds: number }> } | undefined;
  // The two backlog gauges are collected in parallel in one scrape; they share one query.
  const backlog = () => {
    if (!snapshot || now() - snapshot.at >= 1_000)
      snapshot = { at: now(), value: outboxBacklog(options.db, options.partitions) };
    return snapshot.value;
  };

  new Gauge({
    name: 'outbox_backlog_rows',
    help: `Outbox rows not yet published (whole outbox; saturates at ${BACKLOG_COUNT_CAP}), read at scrape time`,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        this.set((await backlog()).rows);
      } catch (err) {
        onScrapeError(err);
      }
    },
  });
  new Gauge({
    name: 'outbox_oldest_unpublished_age_seconds',
    help: 'Age of the oldest unpublished outbox row (0 when none), read at scrape time with the database clock',
    registers: [registry],
    async collect() {
      this.reset();
      const value = await backlog().catch(() => undefined);
      if (value) this.set(value.oldestAgeSeconds);
    },
  });
  const published = new Counter({
    name: 'outbox_published_total',
    help: 'Outbox rows acknowledged by JetStream',
    registers: [registry],
  });
  const errors = new Counter({
    name: 'outbox_publish_errors_total',
    help: 'Outbox publishes that failed (the row is retried), by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of PUBLISH_ERROR_REASONS) errors.inc({ reason }, 0);
  const sessionErrors = new Counter({
    name: 'outbox_relay_session_errors_total',
    help: 'Relay database sessions lost (the relay drops its partitions and reconnects)',
    registers: [registry],
  });
  const publishDuration = new Histogram({
    name: 'outbox_publish_duration_seconds',
    help: 'Time from publishing an outbox row to its JetStream ack',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const commitToAck = new Histogram({
    name: 'outbox_commit_to_ack_seconds',
    help: 'Time from an outbox row being written to its JetStream ack (relay clock minus database clock)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  new Gauge({
    name: 'outbox_partitions_owned',
    help: 'Outbox partitions this relay holds (of 64), read at scrape time',
    registers: [registry],
    collect() {
      this.set([...relays].reduce((n, r) => n + r.status().ownedPartitions.length, 0));
    },
  });
  new Gauge({
    name: 'outbox_relay_members',
    help: "Relays sharing the outbox at this relay's last rebalance (0 while disconnected), read at scrape time",
    registers: [registry],
    collect() {
      this.set(Math.max(0, ...[...relays].map((r) => r.status().members)));
    },
  });

  return {
    published(publishSeconds, createdAt) {
      published.inc();
      publishDuration.observe(publishSeconds);
      commitToAck.observe(Math.max(0, (now() - createdAt.getTime()) / 1000));
    },
    publishFailed(err) {
      errors.inc({ reason: publishErrorReason(err) });
    },
    sessionFailed() {
      sessionErrors.inc();
    },
    watch(relay) {
      relays.add(relay);
      return () => {
        relays.delete(relay);
      };
    },
  };
}
