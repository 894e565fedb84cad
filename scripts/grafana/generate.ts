import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { renderedDashboards } from './render';

/**
 * `npm run dashboards:generate`: writes deploy/grafana/dashboards/*.json from dashboards.ts.
 * With `-- --check` it only names the files that differ and exits 1 (test/unit/dashboards.test.ts
 * makes the same comparison).
 */
const check = process.argv.includes('--check');
let stale = 0;
for (const { path, text } of await renderedDashboards()) {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
  stale += 1;
  if (!check) writeFileSync(path, text);
  console.log(`${check ? 'stale' : 'wrote'} ${path}`);
}
if (check && stale > 0) process.exitCode = 1;
