import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Db } from '../lib/db';
import { START_BACKLOG_CAP, startBacklog } from './queue';

/**
 * What one start attempt came to: a new run, a run that already existed (a retry after a crash or
 * a lost answer), Temporal not answering (outage: the order stays queued), or Temporal refusing it
 * (retried later with the order's own backoff).
 */
export type StartResult = 'started' | 'already-started' | 'unavailable' | 'refused';

export const START_RESULTS: readonly StartResult[] = ['started', 'already-started', 'unavailable', 'refused'];

/** What the saga starter reports; `noopStarterMetrics` when absent. */
export interface StarterMetrics {
  /** One start attempt: its result, how long Temporal took, and when the order was committed. */
  started(result: StartResult, seconds: number, orderCreatedAt: Date): void;
}

export const noopStarterMetrics: StarterMetrics = { started: () => undefined };

/**
 * Prometheus metrics of the saga starter, on the process's `registry`:
 *
 * - `checkout_saga_starts_total{result}`: start attempts by result;
 * - `checkout_saga_start_duration_seconds`: one start call to Temporal's answer;
 * - `checkout_saga_start_delay_seconds`: order committed to its saga accepted (what a checkout
 *   waits for its saga; grows during an outage);
 * - `checkout_saga_starts_backlog`, `checkout_saga_starts_oldest_age_seconds`: orders still
 *   waiting for their saga and the oldest one's age, read from the database at scrape time (the
 *   whole queue, not just this process's share).
 *
 * @example
 * const metrics = createStarterMetrics(registry, { db, onScrapeError: (err) => logger.warn({ err }, 'backlog unreadable') });
 */
export function createStarterMetrics(
  registry: Registry,
  options: { db: Db; onScrapeError?: (err: unknown) => void; now?: () => number },
): StarterMetrics {
  const now = options.now ?? Date.now;
  const onScrapeError = options.onScrapeError ?? (() => undefined);
  let snapshot: { at: number; value: Promise<{ orders: number; oldestAgeSeconds: number }> } | undefined;
  // Both gauges are collected in one scrape; they share one query.
  const backlog = () => {
    if (!snapshot || now() - snapshot.at >= 1_000) snapshot = { at: now(), value: startBacklog(options.db) };
    return snapshot.value;
  };
  new Gauge({
    name: 'checkout_saga_starts_backlog',
    help: `Committed orders whose saga has not been started yet (saturates at ${START_BACKLOG_CAP}), read at scrape time`,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        this.set((await backlog()).orders);
      } catch (err) {
        onScrapeError(err);
      }
    },
  });
  new Gauge({
    name: 'checkout_saga_starts_oldest_age_seconds',
    help: 'Age of the oldest order still waiting for its saga (0 when none), read at scrape time with the database clock',
    registers: [registry],
    async collect() {
      this.reset();
      const value = await backlog().catch(() => undefined);
      if (value) this.set(value.oldestAgeSeconds);
    },
  });
  const starts = new Counter({
    name: 'checkout_saga_starts_total',
    help: 'Saga start attempts, by result (started, already-started, unavailable, refused)',
    labelNames: ['result'],
    registers: [registry],
  });
  for (const result of START_RESULTS) starts.inc({ result }, 0);
  const duration = new Histogram({
    name: 'checkout_saga_start_duration_seconds',
    help: 'One start call to Temporal until its answer (or failure)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const delay = new Histogram({
    name: 'checkout_saga_start_delay_seconds',
    help: 'Order committed to its saga accepted by Temporal (starter clock minus the API clock)',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  });
  return {
    started(result, seconds, orderCreatedAt) {
      starts.inc({ result });
      duration.observe(seconds);
      if (result === 'started' || result === 'already-started')
        delay.observe(Math.max(0, (now() - orderCreatedAt.getTime()) / 1000));
    },
  };
}
