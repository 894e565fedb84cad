import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { renderedDashboards } from '../../scripts/grafana/render';
import { dashboardExpressions, metricNamesOf, queriedMetrics } from '../support/promql';

describe('Grafana dashboards (deploy/grafana/dashboards)', () => {
  it('are what scripts/grafana/dashboards.ts generates (npm run dashboards:generate)', async () => {
    for (const { path, text } of await renderedDashboards())
      assert.equal(readFileSync(path, 'utf8'), text, `${path} is stale: run npm run dashboards:generate`);
  });

  it('query at least one metric in every panel, through the datasource variable', () => {
    const exprs = dashboardExpressions();
    assert.ok(exprs.length > 40, `${exprs.length} queries`);
    for (const { file, expr } of exprs) assert.ok(metricNamesOf(expr).length > 0, `${file}: ${expr}`);
  });

  it('read metric names out of PromQL, leaving labels, functions and ranges', () => {
    assert.deepEqual(
      metricNamesOf(
        'sum by (step) (rate(a_total{activity_type=~"x|y"}[5m])) / on(step) b_seconds_bucket > bool 0 or absent(up{job="r"} == 1)',
      ),
      ['a_total', 'b_seconds_bucket', 'up'],
    );
    assert.deepEqual(metricNamesOf('histogram_quantile(0.99, sum by (le) (rate(h_bucket[$__rate_interval])))'), [
      'h_bucket',
    ]);
  });

  it('expand the recording rules of rules.yml into the metrics they read', () => {
    const names = [...queriedMetrics().keys()];
    assert.ok(!names.some((n) => n.includes(':')), names.join(' '));
    assert.ok(names.includes('checkout_sagas_finished_total'));
  });
});
