import type { Query } from './model';

/** PromQL builders of the dashboards' panels, over Grafana's `$__rate_interval`. */
export const RANGE = '[$__rate_interval]';
export const rate = (metric: string, by: string, selector = ''): string =>
  `sum by (${by}) (rate(${metric}${selector}${RANGE}))`;
export const total = (metric: string, selector = ''): string => `sum(rate(${metric}${selector}${RANGE}))`;
/** The q-quantile of a histogram by `by` (empty: overall). */
export const quantile = (q: number, metric: string, by: string, selector = ''): string =>
  `histogram_quantile(${q}, sum by (${[by, 'le'].filter(Boolean).join(', ')}) (rate(${metric}_bucket${selector}${RANGE})))`;
export const p50p99 = (metric: string, by: string, legend: string, selector = ''): Query[] => [
  { expr: quantile(0.5, metric, by, selector), legend: `p50 ${legend}` },
  { expr: quantile(0.99, metric, by, selector), legend: `p99 ${legend}` },
];
