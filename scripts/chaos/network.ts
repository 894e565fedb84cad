import { sleep } from '../../lib/wait';
import type { FaultRecord } from './faults';
import { DEPENDENCIES, type Dependency, type NetFault } from './net-plan';
import { installedGoTool } from '../stack/tools';
import { startToxiproxy, type ToxiproxyApi, type Toxic, type ToxiproxyServer } from './toxiproxy';

/** Where each dependency really listens, as `host:port`. */
export type Upstreams = Record<Dependency, string>;

function proxyName(process: string, dependency: Dependency): string {
  return `${process}-${dependency}`;
}

/** The toxic a fault adds to its hop; `undefined` for a cut (the hop is disabled instead). */
export function toxicFor(fault: NetFault): Toxic | undefined {
  const name = `chaos-${fault.kind}`;
  switch (fault.kind) {
    case 'net-latency':
      return {
        name,
        type: 'latency',
        stream: 'downstream',
        toxicity: 1,
        attributes: { latency: fault.amount, jitter: 500 },
      };
    case 'net-reset':
      return { name, type: 'reset_peer', stream: 'upstream', toxicity: 1, attributes: { timeout: 0 } };
    case 'net-hold':
      // timeout 0: data is dropped and the connection is never closed, until the toxic goes.
      return { name, type: 'timeout', stream: 'upstream', toxicity: 1, attributes: { timeout: 0 } };
    case 'net-bandwidth':
      return { name, type: 'bandwidth', stream: 'downstream', toxicity: 1, attributes: { rate: fault.amount } };
    case 'net-limit-data':
      return { name, type: 'limit_data', stream: 'downstream', toxicity: 1, attributes: { bytes: fault.amount } };
    case 'net-cut':
      return undefined;
  }
}

/**
 * One toxiproxy proxy per (process, dependency): every application process reaches PostgreSQL,
 * NATS and Temporal through its own hop, so a fault hits one process's link to one dependency.
 * The runner's own connections (setup, checks) go direct.
 *
 * @example
 * const hops = new NetworkHops(tp.api, upstreams, 21001);
 * await hops.create(PROCESSES.map((p) => p.name));
 * const env = hops.envFor('relay-1', baseEnv); // DATABASE_URL, NATS_URL, TEMPORAL_ADDRESS via proxies
 */
export class NetworkHops {
  private readonly ports = new Map<string, number>();

  constructor(
    private readonly api: ToxiproxyApi,
    private readonly upstreams: Upstreams,
    private readonly firstPort: number,
  ) {}

  async create(processes: readonly string[]): Promise<void> {
    let port = this.firstPort;
    for (const p of processes) {
      for (const d of DEPENDENCIES) {
        const name = proxyName(p, d);
        await this.api.createProxy(name, `127.0.0.1:${port}`, this.upstreams[d]);
        this.ports.set(name, port);
        port += 1;
      }
    }
  }

  private port(process: string, dependency: Dependency): number {
    const port = this.ports.get(proxyName(process, dependency));
    if (port === undefined) throw new Error(`no proxy for ${process} -> ${dependency}`);
    return port;
  }

  /** The addresses `process` uses, through its hops; `env` supplies DATABASE_URL's user and database. */
  envFor(process: string, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
    const db = new URL(env.DATABASE_URL ?? '');
    db.host = `127.0.0.1:${this.port(process, 'postgres')}`;
    return {
      DATABASE_URL: db.toString(),
      NATS_URL: `nats://127.0.0.1:${this.port(process, 'nats')}`,
      TEMPORAL_ADDRESS: `127.0.0.1:${this.port(process, 'temporal')}`,
    };
  }

  /** Injects `fault` for its duration, then takes it away; `record` says what happened. */
  async inject(fault: NetFault, record: FaultRecord): Promise<void> {
    const name = proxyName(fault.target, fault.dependency);
    record.target = `${fault.target} -> ${fault.dependency}`;
    const toxic = toxicFor(fault);
    if (toxic) await this.api.addToxic(name, toxic);
    else await this.api.setEnabled(name, false);
    record.injected = true;
    record.note = `${Math.round(fault.durationMs / 100) / 10}s${fault.amount ? `, ${fault.amount}` : ''}`;
    await sleep(fault.durationMs);
    if (toxic) await this.api.removeToxic(name, toxic.name);
    else await this.api.setEnabled(name, true);
  }

  /** Every hop enabled, every toxic gone. */
  async healAll(): Promise<void> {
    await this.api.reset();
  }
}

/**
 * Starts this run's toxiproxy (API on `port`, proxies from `port + 1`) and a proxy on every hop of
 * `processes`. The binary comes from the cache (`npx tsx scripts/stack/cli.ts up --tools toxiproxy`).
 *
 * @example
 * const net = await startNetwork({ binDir, port: 21000, logFile, upstreams, processes: ['api'] });
 * ...
 * await net.server.stop();
 */
export async function startNetwork(opts: {
  binDir: string;
  port: number;
  logFile: string;
  upstreams: Upstreams;
  processes: readonly string[];
}): Promise<{ server: ToxiproxyServer; hops: NetworkHops }> {
  const server = await startToxiproxy(installedGoTool(opts.binDir, 'toxiproxy'), opts.port, opts.logFile);
  try {
    const hops = new NetworkHops(server.api, opts.upstreams, opts.port + 1);
    await hops.create(opts.processes);
    return { server, hops };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
