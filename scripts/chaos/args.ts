import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../lib/config';
import { isolatedPorts, PORT_OPTIONS, type IsolatedPorts } from '../stack/isolated';
import { faultKinds, type FaultKind, type Topology } from './plan';

/** Everything a chaos run is parameterised by; the seed and these make a run replayable. */
/** Ports of the chaos stack: beside the dev stack (55432/4222/7233) and the bench's. */
const DEFAULT_PORTS: IsolatedPorts = {
  postgres: 55452,
  nats: 4252,
  natsMonitor: 8252,
  temporal: 7253,
  temporalUi: 8253,
  api: 3052,
};

export interface ChaosArgs {
  seed: number;
  /** `--ha`: run on the production-shaped topology (its own HA stack) with its faults. */
  topology: Topology;
  orders: number;
  /** Seconds during which faults are injected and orders placed. */
  durationS: number;
  /** Upper bound on the wait for quiescence after healing, in seconds. */
  quiesceTimeoutS: number;
  /** PAYMENT_CONFIRMATION_TIMEOUT of the chaos workers (3-D Secure orders left unanswered time out). */
  confirmTimeout: string;
  stackDir: string;
  ports: IsolatedPorts;
  /** Where the JSON summary goes (also always written into the run directory). */
  report: string | undefined;
  /** Leave the isolated stack running afterwards, for inspection. */
  keep: boolean;
  /** Toxiproxy's API port; its proxies listen on the ports right after it (dev topology). */
  toxiproxyPort: number;
  /** `--faults`: the kinds this run injects (default: every kind of its topology). */
  faults: readonly FaultKind[];
}

export const USAGE = `usage: npm run chaos -- [--seed N] [--orders M] [--duration S] [options]
  --seed N              PRNG seed (default: random; printed so the run can be replayed)
  --orders M            checkouts to place (default 200)
  --duration S          seconds of faults while the orders are placed (default 120)
  --quiesce-timeout S   bound on the wait for quiescence after healing (default 240)
  --confirm-timeout D   3-D Secure confirmation timeout of the chaos workers (default 20s)
  --ha                  run on the production topology (PostgreSQL primary + synchronous standby,
                        three NATS nodes with R3 streams, the Temporal server on PostgreSQL) with
                        its faults: NATS node and leader kills and freezes, Temporal server SIGKILL,
                        PostgreSQL failover; own ports (55472-74, 4272-74, 7273-77) and .stack/chaos-ha
  --report FILE         also write the JSON summary to FILE
  --keep                leave the isolated chaos stack running at the end
  --stack-dir DIR       STACK_DIR of the isolated stack (default .stack/chaos)
  --faults K1,K2,...    only these fault kinds (default: all of the topology's, network faults
                        and crash points included)
  --toxiproxy-port N    toxiproxy's API port; one proxy per process and dependency listens on
                        the 27 ports after it (default 18474; dev topology only)
  --pg-port, --nats-port, --nats-monitor-port, --temporal-port, --temporal-ui-port, --api-port
                        ports of the isolated stack (default 55452, 4252, 8252, 7253, 8253, 3052;
                        with --ha only --api-port applies, default 3072)`;

/** Raised for bad command-line usage; the runner prints it with USAGE and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

function int(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} expects an integer, got ${value}`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${value}`);
  return n;
}

/**
 * Parses the chaos runner's arguments. Without `--seed` a random one is drawn (and printed).
 *
 * @example
 * const args = parseChaosArgs(['--seed', '42', '--orders', '50', '--duration', '60']);
 * @throws UsageError on an unknown option or a bad value.
 */
export function parseChaosArgs(argv: string[]): ChaosArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: 'string' },
        orders: { type: 'string' },
        duration: { type: 'string' },
        'quiesce-timeout': { type: 'string' },
        'confirm-timeout': { type: 'string' },
        report: { type: 'string' },
        keep: { type: 'boolean' },
        ha: { type: 'boolean' },
        'stack-dir': { type: 'string' },
        'toxiproxy-port': { type: 'string' },
        faults: { type: 'string' },
        ...PORT_OPTIONS,
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) return 'help';
  const confirmTimeout = values['confirm-timeout'] ?? '20s';
  if (!/^\d+(ms|s|m)$/.test(confirmTimeout))
    throw new UsageError(`--confirm-timeout expects a duration such as 20s, got ${confirmTimeout}`);
  const ha = values.ha ?? false;
  const kinds = faultKinds(ha ? 'ha' : 'dev');
  const faults = values.faults === undefined ? kinds : values.faults.split(',').map((k) => k.trim());
  const unknown = faults.filter((k) => !(kinds as readonly string[]).includes(k));
  if (unknown.length > 0 || faults.length === 0)
    throw new UsageError(`--faults expects kinds among ${kinds.join(', ')}; got ${values.faults ?? ''}`);
  return {
    seed: int('seed', values.seed, randomInt(1, 2 ** 31 - 1), 0, 2 ** 31 - 1),
    topology: ha ? 'ha' : 'dev',
    orders: int('orders', values.orders, 200, 1, 100_000),
    durationS: int('duration', values.duration, 120, 10, 86_400),
    quiesceTimeoutS: int('quiesce-timeout', values['quiesce-timeout'], 240, 10, 86_400),
    confirmTimeout,
    stackDir: values['stack-dir'] ?? join(repoRoot, '.stack', ha ? 'chaos-ha' : 'chaos'),
    ports: isolatedPorts(values, ha ? { ...DEFAULT_PORTS, api: 3072 } : DEFAULT_PORTS, (raw, fallback, flag) =>
      int(flag, raw, fallback, 1, 65535),
    ),
    report: values.report,
    keep: values.keep ?? false,
    toxiproxyPort: int('toxiproxy-port', values['toxiproxy-port'], 18474, 1, 65_000),
    faults: faults as FaultKind[],
  };
}

/** The command that replays this run: same seed, size and duration. */
export function replayCommand(args: ChaosArgs): string {
  const some = args.faults.length < faultKinds(args.topology).length ? ` --faults ${args.faults.join(',')}` : '';
  return `npm run chaos -- ${args.topology === 'ha' ? '--ha ' : ''}--seed ${args.seed} --orders ${args.orders} --duration ${args.durationS} --confirm-timeout ${args.confirmTimeout}${some}`;
}
