import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig, repoRoot } from '../../lib/config';
import { installedGoTool } from '../../scripts/stack';
import { SUBSCRIBERS } from '../../subscribers/index';
import { assertToolSucceeded, runTool } from '../support/tools';

const dir = join(repoRoot, 'deploy', 'prometheus');

interface ScrapeConfig {
  job_name: string;
  static_configs: { targets: string[]; labels?: { process?: string } }[];
}

// promtool is built by `npm test` (`up --tools promtool`); a missing one fails here with that command.
describe('deploy/prometheus, checked by promtool', () => {
  const defaults = loadConfig({});
  const promtool = installedGoTool(loadConfig().stack.binDir, 'promtool');

  it('has a rules file promtool check rules accepts', () => {
    const run = runTool(promtool, ['check', 'rules', 'rules.yml'], dir);
    assertToolSucceeded(run, 'promtool check rules');
    assert.match(run.output, /SUCCESS: \d+ rules found/);
  });

  it('has alert unit tests that all pass (each alert firing and staying quiet)', () => {
    const run = runTool(promtool, ['test', 'rules', 'rules.test.yml'], dir);
    assertToolSucceeded(run, 'promtool test rules');
    assert.match(run.output, /SUCCESS/);
  });

  it('tests every alert of the rules file both firing and quiet', () => {
    const rules = parse(readFileSync(join(dir, 'rules.yml'), 'utf8')) as {
      groups: { rules: { alert?: string }[] }[];
    };
    const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
    const tests = parse(readFileSync(join(dir, 'rules.test.yml'), 'utf8')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    const firing = new Set(cases.filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname));
    const quiet = new Set(cases.filter((c) => c.exp_alerts.length === 0).map((c) => c.alertname));
    assert.deepEqual(
      alerts.filter((a) => !firing.has(a)),
      [],
      'alerts without a firing test',
    );
    assert.deepEqual(
      alerts.filter((a) => !quiet.has(a)),
      [],
      'alerts without a quiet test',
    );
  });

  it('has every alert explained in docs/operations.md', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'operations.md'), 'utf8');
    const rules = parse(readFileSync(join(dir, 'rules.yml'), 'utf8')) as { groups: { rules: { alert?: string }[] }[] };
    const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
    assert.deepEqual(
      alerts.filter((a) => !doc.includes(`alert: ${a}`)),
      [],
    );
  });

  for (const file of ['prometheus.yml', 'prometheus-compose.yml'])
    it(`has a scrape config promtool check config accepts: ${file}`, () => {
      assertToolSucceeded(runTool(promtool, ['check', 'config', file], dir), `promtool check config ${file}`);
    });

  it('scrapes every process npm start runs, on the port npm start gives it', () => {
    const doc = parse(readFileSync(join(dir, 'prometheus.yml'), 'utf8')) as { scrape_configs: ScrapeConfig[] };
    const scraped = Object.fromEntries(
      doc.scrape_configs.flatMap((job) =>
        job.static_configs.flatMap((s) => s.targets.map((t) => [s.labels?.process ?? job.job_name, t])),
      ),
    );
    // scripts/start.ts: the API on PORT; the others from METRICS_BASE_PORT in this order.
    const others = ['saga-worker', 'outbox-relay', ...SUBSCRIBERS.map((s) => s.name), 'saga-starter'];
    const expected = {
      api: `127.0.0.1:${defaults.http.port}`,
      ...Object.fromEntries(others.map((name, i) => [name, `127.0.0.1:${defaults.metrics.basePort + i}`])),
    };
    assert.deepEqual(scraped, expected);
  });
});
