import type { CrashPointName } from '../../lib/crash-points';
import type { PlannedFault, ProcessName } from './plan';

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
 * Every crash point, armed in its process from the start (restarting a process to arm it took
 * longer than the window on a loaded machine): each fault waits for the first pass through its
 * point, until the end of the window.
 *
 * @example
 * const crash = planCrashPoints(60_000);
 */
export function planCrashPoints(windowMs: number): PlannedFault[] {
  return CRASH_TARGETS.map(({ point, target }) => ({
    kind: 'crash-point' as const,
    atMs: 0,
    target,
    point,
    waitMs: windowMs,
  }));
}

/** The crash point `process` is started with, if any. */
export function armedAtStart(process: string): CrashPointName | undefined {
  return CRASH_TARGETS.find((t) => t.target === process)?.point;
}
