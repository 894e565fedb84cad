import type { CrashPointName } from '../../lib/crash-points';
import { planCrashPoints } from './crash-plan';
import { NET_KINDS, planNetwork, type NetFault, type NetKind } from './net-plan';
import { Rng } from './rng';

/** What the client means to happen to an order; the checker derives the expected outcome from it. */
export type Intent =
  'complete' | 'declined' | '3ds-approve' | '3ds-refuse' | '3ds-timeout' | 'unshippable' | 'scarce' | 'cancel';

export interface PlannedOrder {
  index: number;
  idempotencyKey: string;
  /** Offset from the start of the fault window at which the client places it. */
  atMs: number;
  customerId: string;
  items: { sku: string; quantity: number }[];
  method: string;
  country: string;
  intent: Intent;
  /** For `cancel`: delay after the 202 before the cancel request. */
  cancelAfterMs: number;
}

/** The SKU seeded with little stock, so some reservations fail with OUT_OF_STOCK. */
export const SCARCE_SKU = 'SKU-CHAOS-SCARCE';

/** Stock of the scarce SKU for a run of `orders` orders: enough for some of them, never for all. */
export function scarceStock(orders: number): number {
  return Math.max(2, Math.round(orders * 0.03));
}

const CATALOG = Array.from({ length: 10 }, (_, i) => `SKU-${String(i + 1).padStart(3, '0')}`);

const INTENTS: readonly (readonly [Intent, number])[] = [
  ['complete', 34],
  ['declined', 9],
  ['3ds-approve', 9],
  ['3ds-refuse', 5],
  ['3ds-timeout', 5],
  ['unshippable', 9],
  ['scarce', 14],
  ['cancel', 15],
];

/**
 * The orders of a run, all drawn from the seed: when each is placed (spread over the first 80 %
 * of the fault window), what it buys, how it pays, where it ships, and what the client does next.
 *
 * @example
 * const orders = planOrders(42, 200, 120_000);
 */
export function planOrders(seed: number, count: number, windowMs: number): PlannedOrder[] {
  const rng = Rng.stream(seed, 'orders');
  const times = Array.from({ length: count }, () => rng.int(0, Math.floor(windowMs * 0.8))).sort((a, b) => a - b);
  return times.map((atMs, index) => {
    const intent = rng.weighted(INTENTS);
    const lines = intent === 'scarce' ? 1 : rng.int(1, 3);
    const skus = intent === 'scarce' ? [SCARCE_SKU] : rng.shuffle(CATALOG).slice(0, lines);
    const method =
      intent === 'declined'
        ? 'pm_card_declined'
        : intent.startsWith('3ds')
          ? 'pm_card_3ds'
          : rng.chance(0.25)
            ? 'pm_card_flaky'
            : 'pm_card_visa';
    return {
      index,
      idempotencyKey: `chaos-${seed}-${index}`,
      atMs,
      customerId: `chaos-customer-${rng.int(1, 25)}`,
      items: skus.map((sku) => ({ sku, quantity: rng.int(1, intent === 'scarce' ? 2 : 3) })),
      method,
      country: intent === 'unshippable' ? 'AQ' : rng.pick(['DE', 'FR', 'US', 'NL', 'JP']),
      intent,
      cancelAfterMs: intent === 'cancel' ? rng.int(0, 4_000) : 0,
    };
  });
}

/** Processes the supervisor runs; each is SIGKILLed and restarted at some point. */
export const PROCESSES = [
  { name: 'api', file: 'api/server.ts' },
  { name: 'saga-worker', file: 'workers/saga-worker.ts' },
  { name: 'saga-starter', file: 'workers/saga-starter.ts' },
  { name: 'relay-1', file: 'workers/relay.ts' },
  { name: 'relay-2', file: 'workers/relay.ts' },
  { name: 'audit', file: 'workers/audit.ts' },
  { name: 'read-model-1', file: 'workers/read-model.ts' },
  { name: 'read-model-2', file: 'workers/read-model.ts' },
  { name: 'notifications', file: 'workers/notifications.ts' },
] as const;

export type ProcessName = (typeof PROCESSES)[number]['name'];

export const SUBSCRIBERS: readonly ProcessName[] = ['audit', 'read-model-1', 'read-model-2', 'notifications'];

export type PoisonVariant = 'not-json' | 'bad-envelope' | 'bad-data';

/** Infrastructure faults of the development stack (one server of each kind). */
export const DEV_INFRA_KINDS = ['nats-sigterm', 'nats-sigkill', 'postgres-immediate', 'temporal-restart'] as const;

/**
 * Infrastructure faults of the `--ha` topology. NATS faults hit one node of three at a time (the
 * infra lane is sequential and each fault ends with the whole cluster healthy again), so a quorum
 * always survives; `nats-leader-sigkill` picks the meta leader or a stream's leader.
 */
export const HA_INFRA_KINDS = [
  'nats-node-sigkill',
  'nats-leader-sigkill',
  'nats-node-sigstop',
  'temporal-sigkill',
  'postgres-failover',
] as const;

export type DevInfraKind = (typeof DEV_INFRA_KINDS)[number];
export type HaInfraKind = (typeof HA_INFRA_KINDS)[number];
export type InfraKind = DevInfraKind | HaInfraKind;

export type FaultKind = 'sigkill' | 'sigstop' | InfraKind | NetKind | 'poison' | 'duplicate' | 'crash-point';

/** The kinds a run on `topology` can inject (the report lists each, even at zero). */
export function faultKinds(topology: Topology): readonly FaultKind[] {
  return [
    'sigkill',
    'sigstop',
    ...(topology === 'ha' ? HA_INFRA_KINDS : [...DEV_INFRA_KINDS, ...NET_KINDS]),
    'poison',
    'duplicate',
    'crash-point',
  ];
}

/** Which stack a run uses: the development stack, or the production-shaped `--ha` topology. */
export type Topology = 'dev' | 'ha';

/** An infrastructure fault: what, when, and how long the victim stays down (or frozen). */
export interface InfraFault {
  kind: InfraKind;
  atMs: number;
  downMs: number;
  /** Drawn with the plan; picks the victim among the candidates found at injection time. */
  pick: number;
}

export type PlannedFault =
  | { kind: 'sigkill'; atMs: number; target: ProcessName; restartAfterMs: number }
  | { kind: 'sigstop'; atMs: number; target: ProcessName; pauseMs: number }
  | InfraFault
  | NetFault
  | { kind: 'poison'; atMs: number; subject: string; variant: PoisonVariant; nonce: number }
  | { kind: 'duplicate'; atMs: number; pick: number }
  /** Restarts `target` with `point` armed; it dies there at its first pass (within `waitMs`, or is disarmed). */
  | { kind: 'crash-point'; atMs: number; target: ProcessName; point: CrashPointName; waitMs: number };

/** The lanes run concurrently; faults of one lane run one after another. */
export interface FaultPlan {
  process: PlannedFault[];
  pause: PlannedFault[];
  infra: PlannedFault[];
  message: PlannedFault[];
  /** Faults on the hops between processes and their dependencies (dev topology only). */
  network: PlannedFault[];
  /** One fault per crash point; each runs in a lane of its own. */
  crash: PlannedFault[];
}

/** The consumer kit's default ack wait; a pause must outlast it so the server redelivers. */
const ACK_WAIT_MS = 30_000;

const POISON_SUBJECTS = [
  'checkout.order.placed',
  'checkout.order.completed',
  'checkout.order.failed',
  'inventory.stock.reserved',
  'payments.payment.charged',
  'shipping.shipment.created',
];

/** Planned times of one lane: every kind of `first` once (shuffled) early, then `more` at random. */
export function lane(
  rng: Rng,
  windowMs: number,
  first: readonly string[],
  more: () => string,
  firstShare: number,
  laterGapMs: number,
): { atMs: number; pick: string }[] {
  const out: { atMs: number; pick: string }[] = [];
  const firstGap = Math.max(500, Math.floor((windowMs * firstShare) / first.length));
  let at = rng.int(500, 2_000);
  for (const pick of rng.shuffle(first)) {
    out.push({ atMs: at, pick });
    at += rng.int(Math.floor(firstGap / 2), Math.floor((firstGap * 3) / 2));
  }
  while (at < windowMs) {
    out.push({ atMs: at, pick: more() });
    at += rng.int(Math.floor(laterGapMs / 2), Math.floor((laterGapMs * 3) / 2));
  }
  return out.filter((f) => f.atMs < windowMs);
}

/**
 * The faults of a run, drawn from the seed. Every kind (and every process) is hit once early in
 * the window, so even a short run covers them all; the rest of the window gets random repeats.
 *
 * @example
 * const plan = planFaults(42, 60_000);
 */
export function planFaults(seed: number, windowMs: number, topology: Topology = 'dev'): FaultPlan {
  const p = Rng.stream(seed, 'faults:process');
  const processFirst = PROCESSES.map((x) => `kill:${x.name}`);
  const kills = lane(p, windowMs, processFirst, () => `kill:${p.pick(PROCESSES).name}`, 0.55, 6_000).map(
    ({ atMs, pick }): PlannedFault => ({
      kind: 'sigkill',
      atMs,
      target: pick.slice('kill:'.length) as ProcessName,
      restartAfterMs: p.int(300, 3_000),
    }),
  );
  // Pauses run beside the kills (a paused process can still be killed); the first comes early so
  // that even a short window holds one pause longer than the ack wait.
  const pauses: PlannedFault[] = [];
  for (let at = p.int(1_000, 5_000); at < windowMs; at += p.int(45_000, 90_000)) {
    const pause: PlannedFault = {
      kind: 'sigstop',
      atMs: at,
      target: p.pick(SUBSCRIBERS),
      pauseMs: ACK_WAIT_MS + p.int(3_000, 8_000),
    };
    // Later pauses must end inside the window, or they would only delay the heal.
    if (pauses.length === 0 || at + pause.pauseMs <= windowMs) pauses.push(pause);
  }
  const infra = topology === 'ha' ? planHaInfra(seed, windowMs) : planDevInfra(seed, windowMs);
  const m = Rng.stream(seed, 'faults:message');
  const message = lane(
    m,
    windowMs,
    ['poison', 'duplicate'],
    () => (m.chance(0.4) ? 'poison' : 'duplicate'),
    0.2,
    4_000,
  ).map(({ atMs, pick }): PlannedFault =>
    pick === 'poison'
      ? {
          kind: 'poison',
          atMs,
          subject: m.pick(POISON_SUBJECTS),
          variant: m.pick(['not-json', 'bad-envelope', 'bad-data'] as const),
          nonce: m.int(0, 2 ** 30),
        }
      : { kind: 'duplicate', atMs, pick: m.int(0, 2 ** 30) },
  );
  return {
    process: kills,
    pause: pauses,
    infra,
    message,
    network: topology === 'dev' ? planNetwork(seed, windowMs) : [],
    crash: planCrashPoints(windowMs),
  };
}

function planDevInfra(seed: number, windowMs: number): PlannedFault[] {
  const i = Rng.stream(seed, 'faults:infra');
  return lane(i, windowMs, DEV_INFRA_KINDS, () => i.pick(DEV_INFRA_KINDS), 0.45, 15_000).map(
    ({ atMs, pick }): PlannedFault => ({
      kind: pick as DevInfraKind,
      atMs,
      downMs: i.int(500, 4_000),
      // The dev stack has one server of each kind: nothing to pick (and no draw, so seeds replay as before).
      pick: 0,
    }),
  );
}

/**
 * The `--ha` lane. Early in the window: two leader kills, one other node kill, one node frozen,
 * two Temporal server SIGKILLs and one PostgreSQL failover, so a run of a few minutes covers what
 * the topology must survive; later repeats leave the failover out (each one rebuilds a standby
 * under load, which takes longer than the gap between faults).
 */
function planHaInfra(seed: number, windowMs: number): PlannedFault[] {
  const i = Rng.stream(seed, 'faults:infra:ha');
  const first: HaInfraKind[] = [
    'nats-leader-sigkill',
    'nats-leader-sigkill',
    'nats-node-sigkill',
    'nats-node-sigstop',
    'temporal-sigkill',
    'temporal-sigkill',
    'postgres-failover',
  ];
  const repeats = HA_INFRA_KINDS.filter((k) => k !== 'postgres-failover');
  return lane(i, windowMs, first, () => i.pick(repeats), 0.5, 15_000).map(({ atMs, pick }): PlannedFault => {
    const kind = pick as HaInfraKind;
    // A frozen node stays silent past the client's ping and the cluster's election timeouts.
    const downMs = kind === 'nats-node-sigstop' ? i.int(6_000, 15_000) : i.int(1_000, 5_000);
    return { kind, atMs, downMs, pick: i.int(0, 2 ** 30) };
  });
}

/**
 * The plan with only the faults of `kinds` (`--faults`); the draws are unchanged, so a kind's
 * faults are the same with or without the others.
 *
 * @example
 * const plan = onlyKinds(planFaults(42, 60_000), ['net-cut', 'sigkill']);
 */
export function onlyKinds(plan: FaultPlan, kinds: readonly FaultKind[]): FaultPlan {
  const keep = (lane: PlannedFault[]) => lane.filter((f) => kinds.includes(f.kind));
  return {
    process: keep(plan.process),
    pause: keep(plan.pause),
    infra: keep(plan.infra),
    message: keep(plan.message),
    network: keep(plan.network),
    crash: keep(plan.crash),
  };
}
