/**
 * The chaos runner on the production-shaped topology (`npm run chaos -- --ha`): its own HA stack
 * (PostgreSQL primary + synchronous standby behind the stable address, three NATS nodes with R3
 * streams, the Temporal server on PostgreSQL) beside the one `stack:up -- --ha` runs, and the
 * faults only that topology survives.
 */
import { sleep } from '../../lib/wait';
import type { Config } from '../../lib/config';
import {
  failover,
  haContext,
  jetStreamLeaders,
  natsClusterUp,
  natsNodes,
  signalNatsNode,
  signalTemporalServer,
  temporalServerUp,
  HA_PORT_SETS,
  type HaContext,
  type HaPorts,
} from '../stack/ha';
import { isProcessAlive } from '../stack/processes';
import type { Say } from '../stack/types';
import { haStackDown, haStackUp } from '../stack/ha';
import type { FaultRecord, InfraFaults } from './faults';
import type { InfraFault } from './plan';

/** Every port of the chaos HA stack: ten above `stack:up -- --ha`'s, so both can run at once. */
export const CHAOS_HA_PORTS: HaPorts = HA_PORT_SETS.chaos;

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/**
 * The `--ha` faults, each through the HA stack's own seams (the same code `stack:up -- --ha` and
 * `failover -- --ha` run), one at a time: a NATS fault ends only when all three nodes report
 * JetStream healthy again, so no two nodes are ever down together (a majority always remains).
 */
export class HaInfraFaults implements InfraFaults {
  private context: HaContext | undefined;

  constructor(
    private readonly config: Config,
    private readonly say: Say,
    private readonly ports: HaPorts = CHAOS_HA_PORTS,
  ) {}

  /** Made on first use: making it creates the stack's folders, which must wait for the wipe. */
  private get ctx(): HaContext {
    this.context ??= haContext(this.config, this.say, this.ports);
    return this.context;
  }

  async inject(fault: InfraFault, record: FaultRecord): Promise<void> {
    switch (fault.kind) {
      case 'nats-node-sigkill':
        record.target = this.anyNode(fault.pick);
        await this.killNode(record.target, fault.downMs);
        break;
      case 'nats-leader-sigkill':
        record.target = await this.leader(fault.pick);
        await this.killNode(record.target.split(' ')[0] ?? '', fault.downMs);
        break;
      case 'nats-node-sigstop':
        record.target = this.anyNode(fault.pick);
        await this.freezeNode(record.target, fault.downMs);
        record.note = `frozen ${(fault.downMs / 1000).toFixed(1)}s`;
        break;
      case 'temporal-sigkill':
        await this.killTemporal(fault.downMs);
        record.target = 'temporal-server';
        break;
      case 'postgres-failover': {
        // `immediate` stops the old primary as a crash would; the synchronous standby has every
        // acknowledged commit, and the standby is rebuilt so a later failover stays possible.
        const result = await failover(this.ctx, { stopMode: 'immediate' });
        record.target = `${result.from} -> ${result.to}`;
        record.note = `writes back after ${(result.writesBackAfterMs / 1000).toFixed(1)}s`;
        break;
      }
      default:
        throw new Error(`${fault.kind} is a fault of the development stack, not of --ha`);
    }
    record.injected = true;
  }

  /** Restarts whatever is down (idempotent): the heal step. */
  async healAll(): Promise<void> {
    await haStackUp(this.config, { ports: this.ports, say: this.say });
  }

  private anyNode(pick: number): string {
    const nodes = natsNodes(this.ctx);
    return nodes[pick % nodes.length]?.name ?? 'nats-1';
  }

  /** The meta leader, or the leader of one stream, as the cluster reports it now (`nats-2 (meta leader)`). */
  private async leader(pick: number): Promise<string> {
    const leaders = await jetStreamLeaders(this.ctx);
    const streams = Object.entries(leaders.streams).sort(([a], [b]) => a.localeCompare(b));
    const candidates: string[] = [];
    if (leaders.meta) candidates.push(`${leaders.meta} (meta leader)`);
    for (const [stream, node] of streams) candidates.push(`${node} (leader of ${stream})`);
    if (candidates.length === 0) throw new Error('the NATS cluster reports no leader (an election is under way)');
    return candidates[pick % candidates.length] ?? candidates[0]!;
  }

  private async killNode(name: string, downMs: number): Promise<void> {
    const pid = signalNatsNode(this.ctx, name, 'SIGKILL');
    if (!(await waitGone(pid, 10_000))) throw new Error(`${name} (pid ${pid}) did not die on SIGKILL`);
    await sleep(downMs);
    await natsClusterUp(this.ctx);
  }

  private async freezeNode(name: string, pauseMs: number): Promise<void> {
    signalNatsNode(this.ctx, name, 'SIGSTOP');
    try {
      await sleep(pauseMs);
    } finally {
      signalNatsNode(this.ctx, name, 'SIGCONT');
    }
    await natsClusterUp(this.ctx);
  }

  /** SIGKILL, not SIGTERM: no graceful shard handover, as when the machine under it dies. */
  private async killTemporal(downMs: number): Promise<void> {
    const pid = signalTemporalServer(this.ctx, 'SIGKILL');
    if (!(await waitGone(pid, 10_000))) throw new Error(`the Temporal server (pid ${pid}) did not die on SIGKILL`);
    await sleep(downMs);
    await temporalServerUp(this.ctx);
  }
}

/** Starts the chaos HA stack (from an empty STACK_DIR: the caller wipes it first). */
export async function haChaosStackUp(config: Config, say: Say): Promise<void> {
  await haStackUp(config, { ports: CHAOS_HA_PORTS, say });
}

/** Stops the chaos HA stack; its data stays until the next run wipes it. */
export async function haChaosStackDown(config: Config, say: Say): Promise<void> {
  await haStackDown(config, { ports: CHAOS_HA_PORTS, say });
}
