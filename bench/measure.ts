import type { Measurement, Role } from './report/types';
import { median, perSecond, summarize } from './stats';

/** One repetition: how many items got through in how long, and (optionally) each item's latency. */
export interface Rep {
  count: number;
  elapsedMs: number;
  latencies?: number[];
}

/**
 * Folds repetitions into a measurement: per-repetition throughput, their median, and latency
 * percentiles pooled over every repetition.
 *
 * @example
 * measurement({ key: 'relay', label: 'outbox relay', role: 'subject', unit: 'events/s', detail: '...' }, reps);
 */
export function measurement(
  meta: { key: string; label: string; role: Role; unit: string; detail: string },
  reps: readonly Rep[],
): Measurement {
  if (reps.length === 0) throw new Error(`${meta.key}: no repetitions`);
  const throughput = reps.map((r) => perSecond(r.count, r.elapsedMs));
  const latencies = reps.flatMap((r) => r.latencies ?? []);
  return {
    ...meta,
    throughput,
    median: median(throughput),
    ...(latencies.length > 0 ? { latency: summarize(latencies) } : {}),
  };
}
