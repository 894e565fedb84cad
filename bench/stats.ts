import { build } from 'hdr-histogram-js';

/** Latency percentiles in milliseconds (microsecond resolution, 3 significant digits). */
export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

const US_PER_MS = 1000;

/**
 * Percentiles of latencies given in milliseconds, through an HDR histogram.
 *
 * @example
 * summarize([1, 2, 3, 100]).p50; // 2
 * @throws Error for an empty list: a percentile of nothing would be a made-up figure.
 */
export function summarize(latenciesMs: readonly number[]): LatencySummary {
  if (latenciesMs.length === 0) throw new Error('no latencies to summarize');
  const histogram = build({ numberOfSignificantValueDigits: 3 });
  try {
    for (const ms of latenciesMs) histogram.recordValue(Math.max(1, Math.round(ms * US_PER_MS)));
    const at = (p: number): number => round(histogram.getValueAtPercentile(p) / US_PER_MS);
    return {
      count: histogram.totalCount,
      p50: at(50),
      p95: at(95),
      p99: at(99),
      max: round(histogram.maxValue / US_PER_MS),
      mean: round(histogram.mean / US_PER_MS),
    };
  } finally {
    histogram.destroy();
  }
}

/**
 * Median of the values (mean of the two middle ones for an even count).
 *
 * @example
 * median([3, 1, 2]); // 2
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * `numerator / denominator` to three decimals.
 *
 * @example
 * ratio(700, 1000); // 0.7
 */
export function ratio(numerator: number, denominator: number): number {
  if (denominator <= 0) throw new Error(`ratio against a non-positive baseline (${denominator})`);
  return Math.round((numerator / denominator) * 1000) / 1000;
}

/** Rounds to three significant decimals for reports (figures, not maths). */
export function round(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Items per second for `count` items over `ms` milliseconds. */
export function perSecond(count: number, ms: number): number {
  if (ms <= 0) throw new Error(`non-positive duration ${ms} ms`);
  return round((count * 1000) / ms);
}
