import { parseArgs } from 'node:util';
import { isolatedPorts, PORT_OPTIONS, type IsolatedPorts } from '../scripts/stack/isolated';

/** Every scenario (issues 7, 14 and 15), in the order they run. */
export const SCENARIOS = ['engine', 'saga', 'burst', 'relay', 'consumer', 'scale-out', 'api', 'big-tables'] as const;
export type ScenarioId = (typeof SCENARIOS)[number];

/**
 * What `--ha` runs on the production-shaped topology (issue 18): the saga and the relay. The others
 * compare the dev server with itself (engine) or measure the API or a consumer alone, which the
 * topology does not change.
 */
export const HA_SCENARIOS: readonly ScenarioId[] = ['saga', 'relay'];

/** Ports of the bench's own stack instance, so it never touches the dev stack (55432/4222/7233). */
export type BenchPorts = IsolatedPorts;

const DEFAULT_PORTS: BenchPorts = {
  postgres: 55442,
  nats: 4242,
  natsMonitor: 8242,
  temporal: 7243,
  temporalUi: 8243,
  api: 3142,
};

export interface BenchArgs {
  quick: boolean;
  /** Leave the bench stack running at the end. */
  keep: boolean;
  /** Run on the production-shaped topology (its own HA stack instance) instead of the dev stack. */
  ha: boolean;
  only: ScenarioId[];
  ports: BenchPorts;
  /** Child processes (by name, e.g. `outbox-relay`) to run under `node --cpu-prof`. */
  cpuProf: string[];
  /** Repetitions per measurement (at least 3). */
  reps: number;
}

export const USAGE = `usage: npm run bench -- [--quick] [--keep] [--ha] [--only ${SCENARIOS.join(',')}] [--reps N]
                          [--pg-port 55442] [--nats-port 4242] [--nats-monitor-port 8242]
                          [--temporal-port 7243] [--temporal-ui-port 8243] [--api-port 3142]
                          [--cpu-prof outbox-relay,saga-worker,...]
  --quick        smaller workloads (about 5 minutes with cached binaries)
  --keep         leave the bench stack (STACK_DIR .stack/bench) running afterwards
  --ha           on the production-shaped topology (PostgreSQL primary + synchronous standby,
                 three NATS nodes with R3 streams, Temporal server on PostgreSQL; STACK_DIR
                 .stack/bench-ha, its own ports): ${HA_SCENARIOS.join(' and ')} only
  --only LIST    run only these scenarios (memory is measured within saga)
  --reps N       repetitions per measurement after the warm-up (default 3, minimum 3)
  --cpu-prof     run these child processes with node --cpu-prof (profiles in .stack/bench/profiles)`;

/** Raised for bad command-line input; the runner prints it with the usage and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

function port(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${flag} must be a port number, got ${value}`);
  return n;
}

/**
 * Parses the bench's command line.
 *
 * @example
 * parseBenchArgs(['--quick', '--only', 'relay']); // { quick: true, only: ['relay'], reps: 3, ... }
 * @throws UsageError for an unknown flag, scenario or a bad number.
 */
export function parseBenchArgs(argv: string[]): BenchArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' },
        keep: { type: 'boolean' },
        ha: { type: 'boolean' },
        only: { type: 'string' },
        reps: { type: 'string' },
        'cpu-prof': { type: 'string' },
        ...PORT_OPTIONS,
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) throw new UsageError('');
  const ha = values.ha ?? false;
  const only =
    values.only === undefined
      ? [...(ha ? HA_SCENARIOS : SCENARIOS)]
      : values.only
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0);
  const unknown = only.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
  if (unknown.length > 0 || only.length === 0)
    throw new UsageError(`--only takes a comma-separated list of ${SCENARIOS.join(', ')}; got ${values.only}`);
  const notOnHa = only.filter((s) => !(HA_SCENARIOS as readonly string[]).includes(s));
  if (ha && notOnHa.length > 0)
    throw new UsageError(`--ha runs only ${HA_SCENARIOS.join(', ')}; not ${notOnHa.join(', ')}`);
  const reps = values.reps === undefined ? 3 : Number(values.reps);
  if (!Number.isInteger(reps) || reps < 3 || reps > 50)
    throw new UsageError(`--reps must be an integer from 3 to 50, got ${values.reps}`);
  return {
    quick: values.quick ?? false,
    keep: values.keep ?? false,
    ha,
    only: SCENARIOS.filter((s) => only.includes(s)),
    reps,
    cpuProf: (values['cpu-prof'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
    ports: isolatedPorts(values, DEFAULT_PORTS, (raw, fallback, flag) => port(raw, fallback, `--${flag}`)),
  };
}
