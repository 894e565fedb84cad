import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBenchArgs, UsageError } from '../../bench/args';
import { measurement } from '../../bench/measure';
import { renderChart } from '../../bench/report/chart';
import { renderMarkdown } from '../../bench/report/markdown';
import type { BenchReport } from '../../bench/report/types';
import { median, perSecond, ratio, round, summarize } from '../../bench/stats';

describe('bench statistics', () => {
  it('computes percentiles of 1..1000 ms to the histogram precision', () => {
    const s = summarize(Array.from({ length: 1000 }, (_, i) => i + 1));
    assert.equal(s.count, 1000);
    assert.equal(s.p50, 500);
    assert.equal(s.p95, 950);
    assert.equal(s.p99, 990);
    assert.equal(s.max, 1000);
    assert.equal(s.mean, 501); // 500.5, reported to three significant digits
  });

  it('keeps sub-millisecond latencies', () => {
    assert.equal(summarize([0.25, 0.25, 0.25]).p99, 0.25);
  });

  it('refuses to summarize nothing', () => {
    assert.throws(() => summarize([]), /no latencies/);
  });

  it('takes medians, ratios and rates', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(ratio(700, 1000), 0.7);
    assert.equal(ratio(1, 3), 0.333);
    assert.throws(() => ratio(1, 0), /non-positive baseline/);
    assert.equal(perSecond(4000, 1000), 4000);
    assert.equal(round(12.345), 12.3);
    assert.equal(round(0.012345), 0.0123);
  });

  it('folds repetitions into a measurement with the median throughput and pooled latencies', () => {
    const m = measurement({ key: 'k', label: 'l', role: 'subject', unit: 'events/s', detail: 'd' }, [
      { count: 100, elapsedMs: 1000, latencies: [1, 2] },
      { count: 300, elapsedMs: 1000, latencies: [3] },
      { count: 200, elapsedMs: 1000 },
    ]);
    assert.deepEqual(m.throughput, [100, 300, 200]);
    assert.equal(m.median, 200);
    assert.equal(m.latency?.count, 3);
    assert.equal(m.latency?.max, 3);
  });
});

describe('bench arguments', () => {
  it('defaults to every scenario, 3 repetitions and the isolated ports', () => {
    const a = parseBenchArgs([]);
    assert.deepEqual(a.only, ['engine', 'saga', 'burst', 'relay', 'consumer', 'scale-out', 'api', 'big-tables']);
    assert.equal(a.reps, 3);
    assert.equal(a.ports.postgres, 55442);
    assert.equal(a.ports.nats, 4242);
    assert.equal(a.ports.temporal, 7243);
  });

  it('rejects unknown scenarios, fewer than 3 repetitions and bad ports', () => {
    assert.throws(() => parseBenchArgs(['--only', 'saga,nope']), UsageError);
    assert.throws(() => parseBenchArgs(['--reps', '2']), UsageError);
    assert.throws(() => parseBenchArgs(['--pg-port', '70000']), UsageError);
    assert.deepEqual(parseBenchArgs(['--quick', '--only', 'relay,saga']).only, ['saga', 'relay']);
  });

  it('--ha runs the saga and the relay by default, and refuses the scenarios it does not run', () => {
    const a = parseBenchArgs(['--ha', '--quick']);
    assert.equal(a.ha, true);
    assert.deepEqual(a.only, ['saga', 'relay']);
    assert.deepEqual(parseBenchArgs(['--ha', '--only', 'relay']).only, ['relay']);
    assert.throws(() => parseBenchArgs(['--ha', '--only', 'saga,api']), /--ha runs only saga, relay; not api/);
    assert.equal(parseBenchArgs([]).ha, false);
  });
});

describe('bench report', () => {
  const report: BenchReport = {
    command: 'npm run bench -- --quick',
    mode: 'quick',
    reps: 3,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:02:00.000Z',
    durationMs: 120_000,
    machine: {
      cpuModel: 'CPU <x>',
      cores: 2,
      memoryGiB: 4,
      os: 'Linux',
      node: 'v20',
      packages: {},
      binaries: {},
      gitCommit: 'abc',
      gitDirty: false,
      loadAverage: { start: 1, end: 2 },
    },
    scenarios: [
      {
        id: 'relay',
        title: '2. Outbox relay',
        params: { backlog: 10 },
        measurements: [
          {
            key: 'relay',
            label: 'relay',
            role: 'subject',
            unit: 'events/s',
            throughput: [10, 20, 30],
            median: 20,
            latency: { count: 3, p50: 1, p95: 2, p99: 3, max: 3, mean: 2 },
            detail: 'd',
          },
          {
            key: 'raw',
            label: 'raw',
            role: 'baseline',
            unit: 'events/s',
            throughput: [40, 40, 40],
            median: 40,
            detail: 'd',
          },
        ],
        ratios: [{ label: 'relay / raw', value: 0.5 }],
        targets: [{ scenario: 'relay', description: 'ratio >= 0.5', measured: '0.5', met: true }],
        notes: [],
        durationMs: 1000,
      },
    ],
    errors: [],
  };

  it('writes every target with met / not met and the medians', () => {
    const md = renderMarkdown(report);
    assert.match(md, /\| relay \| ratio >= 0\.5 \| 0\.5 \| \*\*met\*\* \|/);
    assert.match(md, /\| relay \| subject \| 20 events\/s \| 10, 20, 30 \| 1 \| 2 \| 3 \| 3 \| 3 \|/);
  });

  it('draws bars scaled within the scenario and escapes text', () => {
    const svg = renderChart(report);
    assert.match(svg, /^<svg /);
    assert.match(svg, /width="220\.0"/);
    assert.match(svg, /width="440\.0"/);
    assert.match(svg, /CPU &lt;x&gt;/);
  });
});
