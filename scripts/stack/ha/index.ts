/**
 * The production-shaped local stack, `--ha`: PostgreSQL primary + synchronous standby behind one
 * stable address, a three-node NATS cluster, the Temporal server on PostgreSQL and its Web UI.
 * Used by `scripts/stack/cli.ts --ha`, `npm start -- --ha`, `npm run test:ha`, and the chaos
 * runner (the fault seams below).
 */
import type { Config } from '../../../lib/config';
import { ensureChromium } from '../browser';
import { ensureBaseDirs, stackLayout } from '../layout';
import { withStackLock } from '../lock';
import { elapsed, formatReport, stepLine } from '../report';
import type { ComponentReport, Say } from '../types';
import type { HaContext } from './context';
import { failover, type FailoverOptions, type FailoverResult } from './failover';
import { natsClusterDown, natsClusterStatus, natsClusterUp } from './nats-cluster';
import { postgresHaDown, postgresHaStatus, postgresHaUp } from './postgres-ha';
import { temporalServerDown, temporalServerStatus, temporalServerUp } from './temporal-server';
import { temporalUiDown, temporalUiStatus, temporalUiUp } from './temporal-ui';
import { reserveLocalPorts, stackPorts } from '../reserved-ports';
import { HA_PORTS, type HaPorts } from './topology';

export { failover, type FailoverOptions, type FailoverResult } from './failover';
export { jetStreamLeaders, natsClusterUp, natsNodes, signalNatsNode, type JetStreamLeaders } from './nats-cluster';
export { signalTemporalServer, temporalServerUp } from './temporal-server';
export {
  HA_PORTS,
  HA_PORT_SETS,
  haConfig,
  haEnvFor,
  haStackDir,
  haStackEnv,
  shiftHaPorts,
  type HaPorts,
} from './topology';
export type { HaContext } from './context';

/** Options of the HA stack commands. */
export interface HaStackOptions {
  /** `up` only: also make sure Debian's Chromium is installed (the Web UI browser test). */
  browser?: boolean;
  ports?: HaPorts;
  say?: Say;
}

/**
 * The context of the HA stack for `config` (already pointed at it: see `haConfig`).
 *
 * @example
 * const ctx = haContext(haConfig(loadConfig()), console.log);
 */
export function haContext(config: Config, say: Say, ports: HaPorts = HA_PORTS): HaContext {
  const layout = stackLayout(config);
  ensureBaseDirs(layout);
  return { config, layout, say, ports };
}

type Step = (ctx: HaContext) => Promise<ComponentReport | ComponentReport[]>;

/** Runs the steps in order, printing each line; the first failure stops the rest (they depend on it). */
async function runSteps(ctx: HaContext, steps: readonly Step[]): Promise<ComponentReport[]> {
  const reports: ComponentReport[] = [];
  for (const step of steps) {
    const result = await step(ctx);
    for (const report of Array.isArray(result) ? result : [result]) {
      reports.push(report);
      ctx.say(formatReport(report));
    }
  }
  return reports;
}

/**
 * Brings the HA stack up (idempotent): PostgreSQL (primary, standby, stable address), the NATS
 * cluster, the Temporal server (databases migrated, namespace and search attributes), the Web UI.
 *
 * @throws StackError naming the step that failed and how to fix it.
 */
export async function haStackUp(config: Config, opts: HaStackOptions = {}): Promise<ComponentReport[]> {
  const ctx = haContext(config, opts.say ?? ((line) => console.log(line)), opts.ports);
  const started = Date.now();
  return withStackLock(ctx.layout.runDir, ctx.say, async () => {
    // Before any node starts: no connection of this stack may take one of its ports as a source port.
    const reserved = reserveLocalPorts([...stackPorts(config), ...Object.values(ctx.ports).flat()]);
    if (reserved?.length)
      ctx.say(stepLine('ports', 'reserved', `${reserved.length} stack ports kept out of the ephemeral range`));
    const steps: Step[] = [postgresHaUp, natsClusterUp, temporalServerUp, temporalUiUp];
    if (opts.browser) steps.push(ensureChromium);
    const reports = await runSteps(ctx, steps);
    ctx.say(stepLine('stack', 'up', `(--ha) in ${elapsed(started)}`));
    return reports;
  });
}

/** Stops the HA stack's processes in reverse order; data stays in its STACK_DIR. */
export async function haStackDown(config: Config, opts: HaStackOptions = {}): Promise<ComponentReport[]> {
  const ctx = haContext(config, opts.say ?? ((line) => console.log(line)), opts.ports);
  return withStackLock(ctx.layout.runDir, ctx.say, () =>
    runSteps(ctx, [temporalUiDown, temporalServerDown, natsClusterDown, postgresHaDown]),
  );
}

/** One line per process of the HA stack. */
export async function haStackStatus(config: Config, opts: HaStackOptions = {}): Promise<ComponentReport[]> {
  const ctx = haContext(config, opts.say ?? ((line) => console.log(line)), opts.ports);
  return runSteps(ctx, [postgresHaStatus, natsClusterStatus, temporalServerStatus, async (c) => temporalUiStatus(c)]);
}

/** `failover --ha`: fails PostgreSQL over to the standby (see failover.ts), under the stack lock. */
export async function haFailover(config: Config, opts: HaStackOptions & FailoverOptions = {}): Promise<FailoverResult> {
  const ctx = haContext(config, opts.say ?? ((line) => console.log(line)), opts.ports);
  return withStackLock(ctx.layout.runDir, ctx.say, () => failover(ctx, opts));
}
