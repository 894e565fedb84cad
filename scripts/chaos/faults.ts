import type { NatsConnection } from 'nats';
import type { Db } from '../../lib/db';
import { sleep } from '../../lib/wait';
import { publishDuplicate, publishPoison, type InjectedDuplicate, type InjectedPoison } from './messages';
import type { NetworkHops } from './network';
import { NET_KINDS, type NetFault } from './net-plan';
import type { FaultKind, FaultPlan, InfraFault, PlannedFault } from './plan';
import { Rng } from './rng';
import type { Supervisor } from './supervisor';

/** One fault as it happened: when, what, and whether it took effect. */
export interface FaultRecord {
  kind: FaultKind;
  target?: string;
  atMs: number;
  tookMs: number;
  injected: boolean;
  note?: string;
}

/**
 * The infrastructure of one topology, as the injector sees it: one fault at a time, then the heal.
 * `inject` sets `record.injected` (and `target`, `note`) and returns once the victim is back.
 */
export interface InfraFaults {
  inject(fault: InfraFault, record: FaultRecord): Promise<void>;
  healAll(): Promise<void>;
}

function isInfra(fault: PlannedFault): fault is InfraFault {
  return 'downMs' in fault;
}

function isNet(fault: PlannedFault): fault is NetFault {
  return (NET_KINDS as readonly string[]).includes(fault.kind);
}

export interface FaultDeps {
  supervisor: Supervisor;
  infra: InfraFaults;
  /** The proxies on every hop; absent on a topology without them. */
  net: NetworkHops | undefined;
  nc: NatsConnection;
  db: Db;
  seed: number;
  log: (line: string) => void;
}

/**
 * Runs the fault plan's lanes (kills, pauses, infrastructure, messages) concurrently within
 * the window, and keeps what was injected: the checker needs the exact poison and duplicates.
 *
 * @example
 * const injector = new FaultInjector(deps, plan, Date.now(), 60_000);
 * await injector.run();
 * await injector.settled(); // background publishes acknowledged
 */
export class FaultInjector {
  readonly records: FaultRecord[] = [];
  readonly poison: InjectedPoison[] = [];
  readonly duplicates: InjectedDuplicate[] = [];
  private readonly background: Promise<void>[] = [];
  private readonly poisonRng: Rng;

  constructor(
    private readonly deps: FaultDeps,
    private readonly plan: FaultPlan,
    private readonly startedAt: number,
    private readonly windowMs: number,
  ) {
    this.poisonRng = Rng.stream(deps.seed, 'poison-bodies');
  }

  async run(): Promise<void> {
    await Promise.all([
      this.lane(this.plan.process),
      this.lane(this.plan.pause),
      this.lane(this.plan.infra),
      this.lane(this.plan.message),
      this.lane(this.plan.network),
      ...this.plan.crash.map((f) => this.lane([f])),
    ]);
  }

  /** Waits for the background work of faults (paused processes, publishes awaiting an ack). */
  async settled(): Promise<void> {
    await Promise.all(this.background);
  }

  private async lane(faults: readonly PlannedFault[]): Promise<void> {
    for (const fault of faults) {
      const wait = this.startedAt + fault.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (Date.now() - this.startedAt >= this.windowMs) return;
      const at = Date.now();
      const record: FaultRecord = { kind: fault.kind, atMs: at - this.startedAt, tookMs: 0, injected: false };
      if ('target' in fault) record.target = fault.target;
      try {
        await this.inject(fault, record);
      } catch (err) {
        record.note = `failed: ${(err as Error).message.split('\n')[0]}`;
      }
      record.tookMs = Date.now() - at;
      this.records.push(record);
      this.deps.log(
        `fault ${record.kind}${record.target ? ` ${record.target}` : ''} at ${(record.atMs / 1000).toFixed(1)}s: ${record.injected ? 'injected' : 'not injected'}${record.note ? ` (${record.note})` : ''}`,
      );
    }
  }

  private async inject(fault: PlannedFault, record: FaultRecord): Promise<void> {
    const { supervisor, infra } = this.deps;
    if (isInfra(fault)) {
      await infra.inject(fault, record);
      return;
    }
    if (isNet(fault)) {
      if (this.deps.net) await this.deps.net.inject(fault, record);
      else record.note = 'no proxies on this topology';
      return;
    }
    switch (fault.kind) {
      case 'sigkill':
        record.injected = await supervisor.kill(fault.target, 'SIGKILL', fault.restartAfterMs);
        if (!record.injected) record.note = 'was not running';
        return;
      case 'sigstop': {
        const paused = supervisor.pause(fault.target, fault.pauseMs);
        this.background.push(paused.then(() => undefined));
        record.injected = true;
        record.note = `paused ${Math.round(fault.pauseMs / 1000)}s`;
        return;
      }
      case 'poison': {
        const msgId = `chaos-poison-${this.deps.seed}-${fault.nonce}-${this.poison.length}`;
        const deadline = this.startedAt + this.windowMs + 180_000;
        // Counted once JetStream has it; the lane does not wait through a NATS outage for the ack.
        this.background.push(
          publishPoison(this.deps.nc, fault.subject, fault.variant, msgId, this.poisonRng, deadline).then((p) => {
            this.poison.push(p);
          }),
        );
        record.injected = true;
        record.target = `${fault.subject} (${fault.variant})`;
        return;
      }
      case 'crash-point': {
        record.target = `${fault.target} ${fault.point}`;
        record.injected = await supervisor.awaitCrash(fault.target, fault.point, fault.waitMs);
        if (!record.injected) record.note = `not reached within ${Math.round(fault.waitMs / 1000)}s`;
        return;
      }
      case 'duplicate': {
        const msgId = `chaos-dup-${this.deps.seed}-${this.duplicates.length}-${fault.pick}`;
        // Two copies at once: two instances of a subscriber get the same event at the same moment.
        const ids = [`${msgId}-a`, `${msgId}-b`];
        const dups = await publishDuplicate(this.deps.nc, this.deps.db, fault.pick, ids, Date.now() + 10_000);
        const dup = dups[0];
        if (!dup) {
          record.note = 'no published event yet';
          return;
        }
        this.duplicates.push(...dups);
        record.injected = true;
        record.target = dup.subject;
        return;
      }
    }
  }
}
