import type { ProcessName } from './plan';
import { Rng } from './rng';

/**
 * Faults between a process and one of its dependencies, injected by the toxiproxy on that hop:
 * replies slower than the client's timeouts, connections reset, connections held with no reply
 * (data dropped, never closed), bandwidth starved, connections cut after a few kilobytes, and the
 * hop cut off altogether for longer than the process's timeouts.
 */
export const NET_KINDS = [
  'net-latency',
  'net-reset',
  'net-hold',
  'net-bandwidth',
  'net-limit-data',
  'net-cut',
] as const;

export type NetKind = (typeof NET_KINDS)[number];

export type Dependency = 'postgres' | 'nats' | 'temporal';

export const DEPENDENCIES: readonly Dependency[] = ['postgres', 'nats', 'temporal'];

/** Which dependencies each process talks to: only these hops carry traffic worth faulting. */
export const HOPS: Readonly<Record<ProcessName, readonly Dependency[]>> = {
  api: ['postgres', 'nats', 'temporal'],
  'saga-worker': ['postgres', 'temporal'],
  'saga-starter': ['postgres', 'temporal'],
  'relay-1': ['postgres', 'nats'],
  'relay-2': ['postgres', 'nats'],
  audit: ['postgres', 'nats'],
  'read-model-1': ['postgres', 'nats'],
  'read-model-2': ['postgres', 'nats'],
  notifications: ['postgres', 'nats'],
};

export interface NetFault {
  kind: NetKind;
  atMs: number;
  target: ProcessName;
  dependency: Dependency;
  /** How long the toxic stays (or the hop stays cut). */
  durationMs: number;
  /** The toxic's strength: latency ms, bandwidth KB/s, or bytes before the cut. */
  amount: number;
}

/** Durations at full scale (a window of 150 s or more); shorter windows scale them down. */
const DURATION_MS: Record<NetKind, readonly [number, number]> = {
  'net-latency': [8_000, 14_000],
  'net-reset': [2_000, 5_000],
  'net-hold': [8_000, 14_000],
  'net-bandwidth': [8_000, 14_000],
  'net-limit-data': [3_000, 6_000],
  'net-cut': [20_000, 35_000],
};

/** Past the relay's 5 s publish timeout, the API's and the workers' RPC deadlines. */
const LATENCY_MS: readonly [number, number] = [6_000, 12_000];
/** A cut lasts at least this long whatever the window: longer than any client's timeout. */
const MIN_CUT_MS = 12_000;

function amount(rng: Rng, kind: NetKind): number {
  if (kind === 'net-latency') return rng.int(...LATENCY_MS);
  if (kind === 'net-bandwidth') return 1;
  if (kind === 'net-limit-data') return rng.int(2_048, 16_384);
  return 0;
}

/**
 * The network lane of a run, drawn from the seed: every kind once, shuffled, from the start of the
 * window, then random repeats; each on a random hop, one at a time (each heals before the next).
 *
 * @example
 * const network = planNetwork(42, 60_000);
 */
export function planNetwork(seed: number, windowMs: number): NetFault[] {
  const rng = Rng.stream(seed, 'faults:network');
  const scale = Math.min(1, Math.max(0.2, windowMs / 150_000));
  const hops = Object.entries(HOPS).flatMap(([p, deps]) => deps.map((d) => [p as ProcessName, d] as const));
  const out: NetFault[] = [];
  const draw = (kind: NetKind, atMs: number): NetFault => {
    const [target, dependency] = rng.pick(hops);
    const [lo, hi] = DURATION_MS[kind];
    let durationMs = Math.round(rng.int(lo, hi) * scale);
    if (kind === 'net-cut') durationMs = Math.max(durationMs, MIN_CUT_MS);
    return { kind, atMs, target, dependency, durationMs, amount: amount(rng, kind) };
  };
  let at = rng.int(1_000, 3_000);
  for (const kind of rng.shuffle(NET_KINDS)) {
    const f = draw(kind, at);
    out.push(f);
    at += f.durationMs + rng.int(1_000, 3_000);
  }
  while (at < windowMs) {
    const f = draw(rng.pick(NET_KINDS), at);
    out.push(f);
    at += f.durationMs + rng.int(3_000, 10_000);
  }
  return out.filter((f) => f.atMs + f.durationMs <= windowMs);
}
