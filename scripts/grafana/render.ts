import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { repoRoot } from '../../lib/config';
import { DASHBOARDS } from './dashboards';
import { dashboardJson } from './model';

/** Where the generated dashboards are committed (and what Grafana is provisioned from). */
export const DASHBOARDS_DIR = join(repoRoot, 'deploy', 'grafana', 'dashboards');

/**
 * Each dashboard's file and the text it should hold, formatted as the repository's Prettier
 * formats JSON, so a generated file passes `prettier --check` as it is.
 */
export async function renderedDashboards(): Promise<{ path: string; text: string }[]> {
  return Promise.all(
    DASHBOARDS.map(async (d) => {
      const path = join(DASHBOARDS_DIR, d.file);
      const options = (await resolveConfig(path)) ?? {};
      return { path, text: await format(JSON.stringify(dashboardJson(d)), { ...options, filepath: path }) };
    }),
  );
}
