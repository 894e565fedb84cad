import type { CrashPointName } from '../../lib/crash-points';
import type { PlannedFault, ProcessName } from './plan';
import { Rng } from './rng';

/**
 * Which process each crash point is armed in. One instance per point: a single audit subscriber
 * sees every event, the API every placement, relay-1 its share of the partitions.
 */
export const CRASH_TARGETS: readonly { point: CrashPointName; target: ProcessName }[] = [
  { point: 'api.after-commit', target: 'api' },
  { point: 'saga-starter.after-start', target: 'saga-starter' },
  { point: 'saga-worker.activity-after-commit', target: 'saga-worker' },
  { point: 'relay.after-ack', target: 'relay-1' },
  { point: 'subscriber.after-commit', target: 'audit' },
];

/**
 * Every crash point armed once, at a seeded moment in the first half of the window, each waiting
 * 25 s or a third of the window (at most 40 s) for
 * the restarted process to come up and traffic to reach the point.
 *
 * @example
 * const crash = planCrashPoints(42, 60_000);
 */
export function planCrashPoints(seed: number, windowMs: number): PlannedFault[] {
  const rng = Rng.stream(seed, 'faults:crash-points');
  const latest = Math.max(2_000, Math.floor(windowMs / 2));
  return CRASH_TARGETS.map(({ point, target }) => ({
    kind: 'crash-point' as const,
    atMs: rng.int(1_500, latest),
    target,
    point,
    waitMs: Math.min(40_000, Math.max(25_000, Math.floor(windowMs / 3))),
  }));
}
