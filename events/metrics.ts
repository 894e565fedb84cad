import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * How the kit settled one message, as the `outcome` label of `consumer_messages_total`. Aligned
 * with `EventConsumer.stats()`: applied, duplicates, parked, unparked, retried, deadLettered,
 * unknownTypes, unhandledTypes.
 */
export type ConsumerOutcome =
  'applied' | 'duplicate' | 'parked' | 'unparked' | 'retried' | 'dead_lettered' | 'unknown' | 'unhandled';

/** Every outcome, so dashboards see each series at 0 before the first message. */
export const CONSUMER_OUTCOMES: readonly ConsumerOutcome[] = [
  'applied',
  'duplicate',
  'parked',
  'unparked',
  'retried',
  'dead_lettered',
  'unknown',
  'unhandled',
];

/** Which consumer a measurement belongs to: its durable name and stream (both bounded by deployment). */
export interface ConsumerLabels {
  consumer: string;
  stream: string;
}

/** A consumer whose backlog and dead letters are read when Prometheus scrapes. */
export interface ConsumerGaugeSource extends ConsumerLabels {
  /** `num_pending` and `num_ack_pending` of the durable consumer (JetStream consumer info). */
  pending(): Promise<{ pending: number; ackPending: number }>;
  /** Dead letters of this consumer name waiting in the DLQ stream. */
  deadLetters(): Promise<number>;
}

/** Timing of one delivery: handling time, and time since the stream stored the message. */
export interface SettleTiming {
  seconds: number;
  ageSeconds: number;
}

/**
 * What the consumer kit reports, injected through `ConsumerDeps.metrics`. The kit works without
 * it (`noopConsumerMetrics`); `createConsumerMetrics` is the Prometheus implementation.
 */
export interface ConsumerMetrics {
  /** One message (or parked event) settled with `outcome`; `timing` when it came from a delivery. */
  settled(labels: ConsumerLabels, outcome: ConsumerOutcome, timing?: SettleTiming): void;
  /** Reads `source`'s gauges at every scrape until the returned function is called. */
  watch(source: ConsumerGaugeSource): () => void;
  /** One round of the processed-mark sweep: marks deleted and how long it took. */
  marksSwept?(labels: ConsumerLabels, deleted: number, seconds: number): void;
}

/**
 * Metrics that record nothing: the kit's default, so a team that does not use Prometheus pays
 * nothing for it.
 *
 * @example
 * createConsumer({ nc, db, logger, metrics: noopConsumerMetrics }, options);
 */
export const noopConsumerMetrics: ConsumerMetrics = {
  settled: () => undefined,
  watch: () => () => undefined,
};

/** Receives scrape-time failures (NATS unreachable); the series is then left out of that scrape. */
export type ScrapeErrorHandler = (err: unknown, labels: ConsumerLabels) => void;

const SNAPSHOT_TTL_MS = 1_000;

/**
 * Prometheus metrics of the consumer kit, registered on `registry` (the process's own):
 *
 * - `consumer_messages_total{consumer,stream,outcome}`: messages settled, by outcome;
 * - `consumer_processing_duration_seconds{consumer,stream,outcome}`: handling time of a delivery
 *   (transaction, handler, ack or nak);
 * - `consumer_event_age_seconds{consumer,stream}`: time from the stream storing the message to its
 *   settling, i.e. how far behind the consumer is in time;
 * - `consumer_pending_messages{consumer,stream}` and `consumer_ack_pending_messages{consumer,stream}`:
 *   JetStream's `num_pending` and `num_ack_pending`, read at scrape time;
 * - `consumer_dlq_messages{consumer}`: dead letters of the consumer waiting in the DLQ stream, read
 *   at scrape time.
 *
 * Labels are the consumer's durable name and stream only (never an event or order id).
 *
 * @example
 * const registry = new Registry();
 * const metrics = createConsumerMetrics(registry, (err, l) => logger.warn({ err, ...l }, 'could not read consumer gauges'));
 * const consumer = createConsumer({ nc, db, logger, metrics }, options);
 */
export function createConsumerMetrics(
  registry: Registry,
  onScrapeError: ScrapeErrorHandler = () => undefined,
): ConsumerMetrics {
  const sources = new Set<ConsumerGaugeSource>();
  const snapshots = new WeakMap<
    ConsumerGaugeSource,
    { at: number; value: Promise<{ pending: number; ackPending: number }> }
  >();
  // Both backlog gauges are collected in parallel in one scrape; they share one consumer-info call.
  const snapshot = (source: ConsumerGaugeSource) => {
    const cached = snapshots.get(source);
    if (cached && Date.now() - cached.at < SNAPSHOT_TTL_MS) return cached.value;
    const value = source.pending();
    snapshots.set(source, { at: Date.now(), value });
    return value;
  };
  const labelsOf = (s: ConsumerLabels): ConsumerLabels => ({ consumer: s.consumer, stream: s.stream });

  const messages = new Counter({
    name: 'consumer_messages_total',
    help: 'Messages settled by the consumer kit, by outcome (applied, duplicate, parked, unparked, retried, dead_lettered, unknown, unhandled)',
    labelNames: ['consumer', 'stream', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'consumer_processing_duration_seconds',
    help: 'Time to settle one delivery: transaction, handler, and ack or nak',
    labelNames: ['consumer', 'stream', 'outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const age = new Histogram({
    name: 'consumer_event_age_seconds',
    help: 'Time from the stream storing a message to the consumer settling it',
    labelNames: ['consumer', 'stream'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  });
  new Gauge({
    name: 'consumer_pending_messages',
    help: 'Messages in the stream not yet delivered to this durable consumer (JetStream num_pending), read at scrape time',
    labelNames: ['consumer', 'stream'],
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        [...sources].map(async (s) => {
          try {
            this.set(labelsOf(s), (await snapshot(s)).pending);
          } catch (err) {
            onScrapeError(err, labelsOf(s));
          }
        }),
      );
    },
  });
  new Gauge({
    name: 'consumer_ack_pending_messages',
    help: 'Messages delivered to this durable consumer and not yet acknowledged (JetStream num_ack_pending), read at scrape time',
    labelNames: ['consumer', 'stream'],
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        [...sources].map(async (s) => {
          // A failure is reported once, by the pending gauge that shares this snapshot.
          const value = await snapshot(s).catch(() => undefined);
          if (value) this.set(labelsOf(s), value.ackPending);
        }),
      );
    },
  });
  new Gauge({
    name: 'consumer_dlq_messages',
    help: 'Dead letters of this consumer waiting in the DLQ stream (dlq.<consumer>.>), read at scrape time',
    labelNames: ['consumer'],
    registers: [registry],
    async collect() {
      this.reset();
      // One consumer name may run on several streams (one kit instance each); its DLQ subjects are shared.
      const byName = new Map<string, ConsumerGaugeSource>();
      for (const s of sources) if (!byName.has(s.consumer)) byName.set(s.consumer, s);
      await Promise.all(
        [...byName.values()].map(async (s) => {
          try {
            this.set({ consumer: s.consumer }, await s.deadLetters());
          } catch (err) {
            onScrapeError(err, labelsOf(s));
          }
        }),
      );
    },
  });

  const swept = new Counter({
    name: 'consumer_marks_swept_total',
    help: "Processed marks deleted by the retention sweep (older than the consumer's markRetentionMs)",
    labelNames: ['consumer', 'stream'],
    registers: [registry],
  });
  const sweepDuration = new Histogram({
    name: 'consumer_mark_sweep_seconds',
    help: 'Duration of one round of the processed-mark sweep (small batches with pauses)',
    labelNames: ['consumer', 'stream'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    registers: [registry],
  });

  return {
    marksSwept(labels, deleted, seconds) {
      const l = labelsOf(labels);
      swept.inc(l, deleted);
      sweepDuration.observe(l, seconds);
    },
    settled(labels, outcome, timing) {
      const l = labelsOf(labels);
      messages.inc({ ...l, outcome });
      if (timing) {
        duration.observe({ ...l, outcome }, timing.seconds);
        age.observe(l, Math.max(0, timing.ageSeconds));
      }
    },
    watch(source) {
      sources.add(source);
      for (const outcome of CONSUMER_OUTCOMES) messages.inc({ ...labelsOf(source), outcome }, 0);
      return () => {
        sources.delete(source);
      };
    },
  };
}
