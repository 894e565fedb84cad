import type { JsMsg } from 'nats';
import type { ConsumerLabels, ConsumerMetrics, ConsumerOutcome } from '../metrics';
import type { ConsumerStats } from './types';

/** Which `stats()` counter each metrics outcome adds to. */
const STAT_OF: Record<ConsumerOutcome, keyof ConsumerStats> = {
  applied: 'applied',
  duplicate: 'duplicates',
  parked: 'parked',
  unparked: 'unparked',
  retried: 'retried',
  dead_lettered: 'deadLettered',
  unknown: 'unknownTypes',
  unhandled: 'unhandledTypes',
};

/** One delivery being settled: the message and when its handling started (`performance.now()`). */
export interface Delivery {
  msg: JsMsg;
  startedAt: number;
}

/**
 * Counts what one consumer settled, in its `stats()` and in the injected metrics, so the two
 * always agree.
 */
export class Tally {
  private readonly counters: ConsumerStats = {
    applied: 0,
    duplicates: 0,
    parked: 0,
    unparked: 0,
    retried: 0,
    deadLettered: 0,
    unknownTypes: 0,
    unhandledTypes: 0,
  };

  constructor(
    private readonly labels: ConsumerLabels,
    private readonly metrics: ConsumerMetrics,
    private readonly now: () => Date,
  ) {}

  stats(): ConsumerStats {
    return { ...this.counters };
  }

  /** Counts a settled message (or parked event); `delivery` times it when it came from a delivery. */
  count(outcome: ConsumerOutcome, delivery?: Delivery): void {
    this.counters[STAT_OF[outcome]] += 1;
    const labels = { consumer: this.labels.consumer, stream: this.labels.stream };
    if (!delivery) {
      this.metrics.settled(labels, outcome);
      return;
    }
    const seconds = (performance.now() - delivery.startedAt) / 1000;
    const ageSeconds = (this.now().getTime() - delivery.msg.info.timestampNanos / 1e6) / 1000;
    this.metrics.settled(labels, outcome, { seconds, ageSeconds });
  }
}
