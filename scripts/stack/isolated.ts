/**
 * A second instance of the stack beside the development one, for tools that must not disturb it
 * (the benchmarks, the chaos runner): its own STACK_DIR and ports, reached through the same
 * configuration variables every process reads.
 */

/** Ports of an isolated stack instance and of its API. */
export interface IsolatedPorts {
  postgres: number;
  nats: number;
  natsMonitor: number;
  temporal: number;
  temporalUi: number;
  api: number;
}

/** `parseArgs` options overriding each port, shared by the tools' command lines. */
export const PORT_OPTIONS = {
  'pg-port': { type: 'string' },
  'nats-port': { type: 'string' },
  'nats-monitor-port': { type: 'string' },
  'temporal-port': { type: 'string' },
  'temporal-ui-port': { type: 'string' },
  'api-port': { type: 'string' },
} as const;

type PortFlag = keyof typeof PORT_OPTIONS;

/**
 * The ports from parsed `PORT_OPTIONS` values, each validated by the tool's own `parsePort`
 * (which raises the tool's usage error), `defaults` for the flags not given.
 *
 * @example
 * const ports = isolatedPorts(values, { postgres: 55452, ... }, (raw, fallback, flag) => int(flag, raw, fallback, 1, 65535));
 */
export function isolatedPorts(
  values: Partial<Record<PortFlag, string | undefined>>,
  defaults: IsolatedPorts,
  parsePort: (raw: string | undefined, fallback: number, flag: PortFlag) => number,
): IsolatedPorts {
  return {
    postgres: parsePort(values['pg-port'], defaults.postgres, 'pg-port'),
    nats: parsePort(values['nats-port'], defaults.nats, 'nats-port'),
    natsMonitor: parsePort(values['nats-monitor-port'], defaults.natsMonitor, 'nats-monitor-port'),
    temporal: parsePort(values['temporal-port'], defaults.temporal, 'temporal-port'),
    temporalUi: parsePort(values['temporal-ui-port'], defaults.temporalUi, 'temporal-ui-port'),
    api: parsePort(values['api-port'], defaults.api, 'api-port'),
  };
}

/**
 * The environment that points a process at the isolated instance: every address, the STACK_DIR,
 * development mode with info logging. Tools add their own variables (tokens, task queue, knobs).
 *
 * @example
 * const env = { ...isolatedStackEnv(ports, join(repoRoot, '.stack', 'chaos')), API_TOKENS: token };
 */
export function isolatedStackEnv(ports: IsolatedPorts, stackDir: string): Record<string, string> {
  return {
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: String(ports.api),
    DATABASE_URL: `postgres://checkout:checkout@127.0.0.1:${ports.postgres}/checkout`,
    NATS_URL: `nats://127.0.0.1:${ports.nats}`,
    NATS_MONITOR_URL: `http://127.0.0.1:${ports.natsMonitor}`,
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    TEMPORAL_UI_URL: `http://127.0.0.1:${ports.temporalUi}`,
    STACK_DIR: stackDir,
  };
}
