import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../../lib/config';
import { DASHBOARDS_DIR } from '../../scripts/grafana/render';
import { expressionsOf } from '../../scripts/grafana/model';

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: what is left once strings, label matchers, ranges,
 * grouping clauses, function names and keywords are taken out. Enough for the project's own rules
 * and dashboards (no subqueries with nested brackets).
 *
 * @example
 * metricNamesOf('sum by (step) (rate(checkout_compensations_total[5m]))'); // ['checkout_compensations_total']
 */
export function metricNamesOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = [...bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter((m) => m[2] === undefined && !KEYWORDS.has((m[1] as string).toLowerCase()))
    .map((m) => m[1] as string);
  return [...new Set(names)];
}

interface RuleGroup {
  rules: { record?: string; alert?: string; expr: string }[];
}

/** The rules of deploy/prometheus/rules.yml: recording rules by name, and every expression. */
export function prometheusRules(): { records: Map<string, string>; expressions: string[] } {
  const doc = parse(readFileSync(join(repoRoot, 'deploy', 'prometheus', 'rules.yml'), 'utf8')) as {
    groups: RuleGroup[];
  };
  const rules = doc.groups.flatMap((g) => g.rules);
  return {
    records: new Map(rules.flatMap((r) => (r.record ? [[r.record, r.expr] as const] : []))),
    expressions: rules.map((r) => r.expr),
  };
}

/** Every PromQL expression of the committed dashboards, with the file it is in. */
export function dashboardExpressions(): { file: string; expr: string }[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .flatMap((file) =>
      expressionsOf(JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8'))).map((expr) => ({ file, expr })),
    );
}

/**
 * The exported metric names the rules and dashboards query, recording rules replaced by what they
 * read, each with where it is queried; `up` (Prometheus's own) left out.
 */
export function queriedMetrics(): Map<string, string[]> {
  const { records, expressions } = prometheusRules();
  const out = new Map<string, string[]>();
  const add = (expr: string, where: string) => {
    for (const name of metricNamesOf(expr)) {
      const recorded = records.get(name);
      if (recorded !== undefined) add(recorded, where);
      else if (name !== 'up') out.set(name, [...(out.get(name) ?? []), where]);
    }
  };
  for (const expr of expressions) add(expr, 'rules.yml');
  for (const { file, expr } of dashboardExpressions()) add(expr, file);
  return out;
}
