/**
 * Local development stack: PostgreSQL, NATS JetStream and the Temporal dev server (plus the
 * time-skipping test server and Chromium on request). Used by `scripts/stack/cli.ts` and
 * in-process by test setup and `npm start`.
 */
import type { Config } from '../../lib/config';
import { ensureChromium } from './browser';
import type { StackContext } from './context';
import { describeError, errorMessage, StackError } from './errors';
import { ensureBaseDirs, stackLayout } from './layout';
import { withStackLock } from './lock';
import { ensureNatsCli, natsDown, natsStatus, natsUp } from './nats';
import { postgresDown, postgresStatus, postgresUp } from './postgres';
import { displayPath, elapsed, formatReport, stepLine } from './report';
import { temporalDown, temporalStatus, temporalUp } from './temporal';
import { pythonReport } from './python';
import { reserveLocalPorts, stackPorts } from './reserved-ports';
import { ensureTestServer } from './test-server';
import { goToolReport } from './tools';
import { componentNames, type ComponentName, type ComponentReport, type Say, type StackOptions } from './types';

export { ensureTestServer, type TestServerOptions } from './test-server';
export { ensureGoTool, installedGoTool, GO_TOOLS, goToolNames, type GoToolName } from './tools';
export { ensurePythonEnv, installedPythonTool } from './python';
export { chromiumVersion, ensureChromium, findChromium } from './browser';
export { TEMPORAL_PERSISTENCES, type TemporalPersistence } from './temporal-persistence';
export { StackError, describeError } from './errors';
export { formatReport } from './report';
export { ensureNatsCli } from './nats';
export { temporalBinary } from './temporal';
export {
  componentNames,
  type ComponentName,
  type ComponentReport,
  type ComponentState,
  type Say,
  type StackOptions,
} from './types';

type Step = (ctx: StackContext) => Promise<ComponentReport>;

const UP: Record<ComponentName, Step> = { postgres: postgresUp, nats: natsUp, temporal: temporalUp };
const DOWN: Record<ComponentName, Step> = { postgres: postgresDown, nats: natsDown, temporal: temporalDown };
const STATUS: Record<ComponentName, Step> = { postgres: postgresStatus, nats: natsStatus, temporal: temporalStatus };

function context(config: Config, say: Say, opts: StackOptions = {}): StackContext {
  const layout = stackLayout(config);
  ensureBaseDirs(layout);
  return { config, layout, say, temporalPersistence: opts.temporalPersistence ?? 'tuned' };
}

function selected(only: readonly ComponentName[] | undefined): ComponentName[] {
  return componentNames.filter((name) => only === undefined || only.includes(name));
}

/**
 * Runs `step` for each component, printing its line. A failing component does not stop the
 * others (they are independent); failures are rethrown together at the end.
 */
async function runAll(
  names: readonly ComponentName[],
  steps: Record<ComponentName, Step>,
  ctx: StackContext,
): Promise<ComponentReport[]> {
  const reports: ComponentReport[] = [];
  const failures: { name: string; err: unknown }[] = [];
  for (const name of names) {
    try {
      const report = await steps[name](ctx);
      reports.push(report);
      ctx.say(formatReport(report));
    } catch (err) {
      failures.push({ name, err });
      ctx.say(stepLine(name, 'failed', errorMessage(err).split('\n')[0] ?? ''));
    }
  }
  throwFailures(failures);
  return reports;
}

function throwFailures(failures: readonly { name: string; err: unknown }[]): void {
  const [only] = failures;
  if (only === undefined) return;
  if (failures.length === 1) throw only.err;
  throw new StackError(failures.map(({ name, err }) => `${name}: ${describeError(err)}`).join('\n'));
}

/**
 * Starts (or reuses) the selected components; idempotent, so a second call is a no-op that
 * reports `running`/`external`. Also prepares natscli, the test server and Chromium when asked.
 *
 * @returns one report per component, in start order.
 * @throws StackError (or the component's error) after trying every component, if any failed.
 */
export async function stackUp(config: Config, opts: StackOptions = {}): Promise<ComponentReport[]> {
  const say = opts.say ?? ((line: string) => console.log(line));
  const ctx = context(config, say, opts);
  const started = Date.now();
  return withStackLock(ctx.layout.runDir, say, async () => {
    const reserved = reserveLocalPorts(stackPorts(config));
    if (reserved?.length)
      say(stepLine('ports', 'reserved', `${reserved.length} stack ports kept out of the ephemeral range`));
    const reports = await runAll(selected(opts.only), UP, ctx);
    if (opts.natscli) {
      const report = await ensureNatsCli(ctx);
      reports.push(report);
      say(formatReport(report));
    }
    if (opts.testServer) {
      const report: ComponentReport = {
        name: 'test-server',
        state: 'ready',
        address: displayPath(await ensureTestServer(config, { say })),
      };
      reports.push(report);
      say(formatReport(report));
    }
    if (opts.browser) {
      const report = await ensureChromium(ctx);
      reports.push(report);
      say(formatReport(report));
    }
    for (const tool of opts.tools ?? []) {
      const report = await goToolReport(ctx, tool);
      reports.push(report);
      say(formatReport(report));
    }
    if (opts.python) {
      const report = await pythonReport(ctx);
      reports.push(report);
      say(formatReport(report));
    }
    say(stepLine('stack', 'up', `in ${elapsed(started)}`));
    return reports;
  });
}

/**
 * Stops the selected components that this tooling started, in reverse start order. External
 * servers are left alone; data directories stay.
 *
 * @returns one report per component (`stopped`, `not running` or `external`).
 */
export async function stackDown(config: Config, opts: StackOptions = {}): Promise<ComponentReport[]> {
  const say = opts.say ?? ((line: string) => console.log(line));
  const ctx = context(config, say);
  return withStackLock(ctx.layout.runDir, say, () => runAll(selected(opts.only).reverse(), DOWN, ctx));
}

/**
 * Prints and returns one line per selected component: `running` (ours), `external`, or
 * `not running`, with address, pid and data location (and the Web UI URL for Temporal).
 */
export async function stackStatus(config: Config, opts: StackOptions = {}): Promise<ComponentReport[]> {
  const say = opts.say ?? ((line: string) => console.log(line));
  return runAll(selected(opts.only), STATUS, context(config, say));
}
