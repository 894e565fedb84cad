import type { BenchReport, Measurement, Role } from './types';

const WIDTH = 900;
const LABEL_W = 300;
const BAR_W = 440;
const ROW_H = 22;
const COLORS: Record<Role, string> = {
  subject: '#2f6fdf',
  baseline: '#8a8f98',
  ceiling: '#c8ccd2',
  experiment: '#e08a1e',
};
const PERCENTILE_COLORS = { p50: '#2f6fdf', p95: '#e08a1e', p99: '#c0392b' } as const;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const text = (x: number, y: number, s: string, attrs = ''): string =>
  `<text x="${x}" y="${y}" ${attrs}>${esc(s)}</text>`;

/** Throughput rows: each bar scaled to the largest median of its own scenario, so units never mix. */
function throughputPanel(report: BenchReport, top: number): { svg: string[]; height: number } {
  const svg = [text(10, top + 16, 'Throughput (median of repetitions; bars scaled within each scenario)', 'class="h"')];
  let y = top + 30;
  for (const scenario of report.scenarios) {
    const max = Math.max(...scenario.measurements.map((m) => m.median));
    svg.push(text(10, y + 14, scenario.title, 'class="s"'));
    y += ROW_H;
    for (const m of scenario.measurements) {
      const w = max > 0 ? Math.max(1, (m.median / max) * BAR_W) : 0;
      svg.push(
        text(20, y + 14, m.label),
        `<rect x="${LABEL_W}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW_H - 8}" fill="${COLORS[m.role]}"/>`,
        text(LABEL_W + w + 6, y + 14, `${m.median} ${m.unit}`),
      );
      y += ROW_H;
    }
    y += 6;
  }
  return { svg, height: y - top };
}

/** Latency rows on a log10 axis from 0.1 ms to the largest p99. */
function latencyPanel(measurements: Measurement[], top: number): { svg: string[]; height: number } {
  const withLatency = measurements.filter((m) => m.latency);
  if (withLatency.length === 0) return { svg: [], height: 0 };
  const maxMs = Math.max(...withLatency.map((m) => m.latency?.p99 ?? 1));
  const lo = -1;
  const hi = Math.ceil(Math.log10(Math.max(maxMs, 1)));
  const x = (ms: number): number => LABEL_W + ((Math.log10(Math.max(ms, 0.1)) - lo) / (hi - lo)) * BAR_W;
  const svg = [text(10, top + 16, 'Latency p50 / p95 / p99 (ms, log scale)', 'class="h"')];
  let y = top + 30;
  for (let e = lo; e <= hi; e += 1) {
    const gx = x(10 ** e);
    svg.push(
      `<line x1="${gx.toFixed(1)}" y1="${y}" x2="${gx.toFixed(1)}" y2="${y + withLatency.length * ROW_H}" stroke="#e3e5e8"/>`,
      text(gx - 8, y + withLatency.length * ROW_H + 14, String(10 ** e), 'class="t"'),
    );
  }
  for (const m of withLatency) {
    const l = m.latency;
    if (!l) continue;
    svg.push(
      text(20, y + 14, m.label),
      `<line x1="${x(l.p50).toFixed(1)}" y1="${y + 10}" x2="${x(l.p99).toFixed(1)}" y2="${y + 10}" stroke="#b0b4ba" stroke-width="2"/>`,
    );
    for (const p of ['p50', 'p95', 'p99'] as const)
      svg.push(
        `<circle cx="${x(l[p]).toFixed(1)}" cy="${y + 10}" r="4.5" fill="${PERCENTILE_COLORS[p]}"><title>${p} ${l[p]} ms</title></circle>`,
      );
    svg.push(text(LABEL_W + BAR_W + 12, y + 14, `${l.p50} / ${l.p95} / ${l.p99}`, 'class="t"'));
    y += ROW_H;
  }
  y += 24;
  svg.push(
    ...(['p50', 'p95', 'p99'] as const).map(
      (p, i) =>
        `<circle cx="${LABEL_W + i * 70}" cy="${y}" r="4.5" fill="${PERCENTILE_COLORS[p]}"/>${text(LABEL_W + i * 70 + 8, y + 4, p, 'class="t"')}`,
    ),
  );
  return { svg, height: y - top + 12 };
}

/**
 * An SVG of the report: throughput per scenario (subject, baseline, ceiling, experiment) and the
 * latency percentiles of every measurement that has them.
 *
 * @example
 * writeFileSync('latest.svg', renderChart(report));
 */
export function renderChart(report: BenchReport): string {
  const legend = (Object.entries(COLORS) as [Role, string][]).map(
    ([role, color], i) =>
      `<rect x="${10 + i * 120}" y="34" width="12" height="12" fill="${color}"/>${text(28 + i * 120, 45, role, 'class="t"')}`,
  );
  const tp = throughputPanel(report, 52);
  const lat = latencyPanel(
    report.scenarios.flatMap((s) => s.measurements),
    52 + tp.height + 10,
  );
  const height = 52 + tp.height + 10 + lat.height + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${Math.round(height)}" viewBox="0 0 ${WIDTH} ${Math.round(height)}" font-family="sans-serif" font-size="12">`,
    '<style>.h{font-size:14px;font-weight:bold}.s{font-weight:bold}.t{font-size:11px;fill:#555}</style>',
    '<rect width="100%" height="100%" fill="#fff"/>',
    text(
      10,
      20,
      `checkout-saga benchmarks (${report.mode}) — ${report.startedAt.slice(0, 16)}Z, ${report.machine.cores} cores, ${report.machine.cpuModel}`,
      'class="h"',
    ),
    ...legend,
    ...tp.svg,
    ...lat.svg,
    '</svg>',
    '',
  ].join('\n');
}
