/**
 * The production-shaped local stack (`--ha`): which ports each server of the topology listens on,
 * and the environment that points the application at it. Only configuration differs from the
 * development stack; the application code is the same.
 */
import { join } from 'node:path';
import { childEnv, loadConfig, type Config } from '../../../lib/config';

/** Every port of the HA topology: beside the dev stack (55432/4222/7233), the bench's and the chaos runner's. */
export interface HaPorts {
  /** The stable PostgreSQL address the application uses (the proxy in front of the primary). */
  postgres: number;
  /** The two PostgreSQL nodes; which one is the primary is recorded in the topology file. */
  postgresNodes: readonly [number, number];
  /** NATS client ports of the three cluster nodes. */
  nats: readonly [number, number, number];
  /** NATS HTTP monitoring ports (healthz, jsz) of the three nodes. */
  natsMonitor: readonly [number, number, number];
  /** NATS cluster (route) ports of the three nodes. */
  natsCluster: readonly [number, number, number];
  /** Temporal frontend gRPC port (TEMPORAL_ADDRESS). */
  temporal: number;
  /** Temporal frontend HTTP API port. */
  temporalHttp: number;
  /** gRPC ports of the history, matching and worker services. */
  temporalHistory: number;
  temporalMatching: number;
  temporalWorker: number;
  /** Membership (ringpop) ports of frontend, history, matching and worker. */
  temporalMembership: readonly [number, number, number, number];
  /** Temporal server Prometheus metrics. */
  temporalMetrics: number;
  temporalUi: number;
  /** The API of `npm start -- --ha`, and the first of its processes' metrics ports. */
  api: number;
  metricsBase: number;
}

export const HA_PORTS: HaPorts = {
  postgres: 55462,
  postgresNodes: [55463, 55464],
  nats: [4262, 4263, 4264],
  natsMonitor: [8262, 8263, 8264],
  natsCluster: [6262, 6263, 6264],
  temporal: 7263,
  temporalHttp: 7264,
  temporalHistory: 7265,
  temporalMatching: 7266,
  temporalWorker: 7267,
  temporalMembership: [6963, 6965, 6966, 6967],
  temporalMetrics: 9263,
  temporalUi: 8261,
  api: 3062,
  metricsBase: 9562,
};

type Tuple<T> = readonly [T, ...T[]];
const shift = <T extends number | Tuple<number>>(value: T, by: number): T =>
  (typeof value === 'number' ? value + by : value.map((v) => v + by)) as T;

/**
 * Every port of `ports` moved by `by`: another copy of the topology beside it (the chaos runner's
 * is ten above `stack:up -- --ha`'s, the bench's twenty), so they can all run at once.
 *
 * @example
 * const chaos = shiftHaPorts(HA_PORTS, 10); // chaos.postgres === 55472
 */
export function shiftHaPorts(ports: HaPorts, by: number): HaPorts {
  return Object.fromEntries(
    Object.entries(ports).map(([name, value]) => [name, shift(value as number | Tuple<number>, by)]),
  ) as unknown as HaPorts;
}

/**
 * Every copy of the topology this repository runs, each with its own ports so they can all run
 * at once: `stack:up -- --ha`, the chaos runner's (ten above) and the bench's (twenty above).
 */
export const HA_PORT_SETS = {
  stack: HA_PORTS,
  chaos: shiftHaPorts(HA_PORTS, 10),
  bench: shiftHaPorts(HA_PORTS, 20),
} as const satisfies Record<string, HaPorts>;

/** Replicas of every stream (and the DLQ) on the three-node cluster: a minority may fail. */
export const HA_STREAM_REPLICAS = 3;

/**
 * The variables that point a process at the HA stack: the stable PostgreSQL address, all three
 * NATS servers with R3 streams, the Temporal server and its UI, its own STACK_DIR and API port.
 *
 * @example
 * spawn(process.execPath, args, { env: childEnv(haStackEnv(HA_PORTS, '/repo/.stack/ha')) });
 */
export function haStackEnv(ports: HaPorts, stackDir: string): Record<string, string> {
  return {
    DATABASE_URL: `postgres://checkout:checkout@127.0.0.1:${ports.postgres}/checkout`,
    NATS_URL: ports.nats.map((port) => `nats://127.0.0.1:${port}`).join(','),
    NATS_MONITOR_URL: `http://127.0.0.1:${ports.natsMonitor[0]}`,
    NATS_STREAM_REPLICAS: String(HA_STREAM_REPLICAS),
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    TEMPORAL_UI_URL: `http://127.0.0.1:${ports.temporalUi}`,
    STACK_DIR: stackDir,
    PORT: String(ports.api),
    METRICS_BASE_PORT: String(ports.metricsBase),
  };
}

/** The HA stack's STACK_DIR: `ha/` inside the development stack's, so both stay in one ignored folder. */
export function haStackDir(base: Config): string {
  return join(base.stack.dir, 'ha');
}

/**
 * The HA stack's variables for a process whose own configuration is `base` (its cache dir and
 * everything else are kept; only the addresses change).
 */
export function haEnvFor(base: Config, ports: HaPorts = HA_PORTS): Record<string, string> {
  return haStackEnv(ports, haStackDir(base));
}

/** The parsed configuration of a process pointed at the HA stack. */
export function haConfig(base: Config, ports: HaPorts = HA_PORTS): Config {
  return loadConfig(childEnv(haEnvFor(base, ports)));
}
