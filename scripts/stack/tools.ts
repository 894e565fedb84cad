import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StackContext } from './context';
import { StackError } from './errors';
import { goInstall, goToolPath, type GoTool } from './installers';
import { displayPath } from './report';
import type { ComponentReport } from './types';

/**
 * Go programs the project builds on demand and caches in the bin dir, beyond the three services:
 * each is pinned, and those that build a binary named `server` get a folder of their own.
 */
export const GO_TOOLS = {
  promtool: {
    binary: 'promtool',
    target: 'github.com/prometheus/prometheus/cmd/promtool@v0.316.0',
    expected: 'about 5 minutes on 2 cores',
  },
  helm: { binary: 'helm', target: 'helm.sh/helm/v3/cmd/helm@v3.22.0', expected: 'about 3 minutes on 2 cores' },
  toxiproxy: {
    binary: 'server',
    dir: 'toxiproxy-2.12.0',
    label: 'toxiproxy',
    target: 'github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0',
    expected: 'about a minute',
  },
  'temporal-server': {
    binary: 'server',
    dir: 'temporal-server-1.29.1',
    label: 'temporal-server',
    target: 'go.temporal.io/server/cmd/server@v1.29.1',
    expected: 'about 8 minutes on 2 cores',
  },
  'temporal-sql-tool': {
    binary: 'sql',
    dir: 'temporal-server-1.29.1',
    label: 'temporal-sql-tool',
    target: 'go.temporal.io/server/cmd/tools/sql@v1.29.1',
    expected: 'about a minute after the server',
  },
  'temporal-ui-server': {
    binary: 'server',
    dir: 'temporal-ui-server-2.42.1',
    label: 'temporal-ui-server',
    target: 'github.com/temporalio/ui-server/v2/cmd/server@v2.42.1',
    expected: 'about 2 minutes on 2 cores',
  },
} as const satisfies Record<string, GoTool>;

export type GoToolName = keyof typeof GO_TOOLS;

export const goToolNames = Object.keys(GO_TOOLS) as GoToolName[];

/** True for the name of a tool in {@link GO_TOOLS}. */
export function isGoToolName(name: string): name is GoToolName {
  return Object.hasOwn(GO_TOOLS, name);
}

/**
 * The cached binary of `name`, built with `go install` first when missing (idempotent).
 * Only the cache counts, never PATH: several of these binaries are called `server`.
 *
 * @example
 * const promtool = await ensureGoTool(ctx, 'promtool');
 */
export async function ensureGoTool(ctx: StackContext, name: GoToolName): Promise<string> {
  const tool: GoTool = GO_TOOLS[name];
  const path = goToolPath(tool, ctx.layout.binDir);
  if (existsSync(path)) return path;
  return goInstall(tool, ctx.layout.binDir, join(ctx.layout.logsDir, `go-install-${name}.log`), ctx.say);
}

/**
 * The cached binary of `name`, for tests and scripts that run it; builds nothing.
 *
 * @throws StackError naming the command that builds it, when it is not in the cache.
 * @example
 * const promtool = installedGoTool(config.stack.binDir, 'promtool');
 */
export function installedGoTool(binDir: string, name: GoToolName): string {
  const path = goToolPath(GO_TOOLS[name], binDir);
  if (!existsSync(path))
    throw new StackError(
      `${name} is not installed (${displayPath(path)} is missing)`,
      `run \`npx tsx scripts/stack/cli.ts up --tools ${name}\` (npm test does)`,
    );
  return path;
}

/** {@link ensureGoTool} as a printed `ready` line. */
export async function goToolReport(ctx: StackContext, name: GoToolName): Promise<ComponentReport> {
  return { name, state: 'ready', address: displayPath(await ensureGoTool(ctx, name)) };
}
