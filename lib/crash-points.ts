/**
 * Crash points: named places where a process can be made to die on purpose (SIGKILL to itself,
 * so nothing is flushed, closed or rolled back politely), to test that what it leaves behind is
 * recovered. Tests and fault-injection tools arm them with `CRASH_POINTS=<name>,...`; production
 * never does (`lib/config.ts` refuses the variable when NODE_ENV=production), and an unarmed point
 * costs one Set lookup.
 *
 * Adding one: a name here (`<process>.<moment>`), a `crashPoints.reach('<name>')` at the moment,
 * and a test that arms it in a child process and checks the recovery.
 */

/** Every crash point, by name. */
export const CRASH_POINT_NAMES = [
  /** The API has committed a checkout (order, event, Idempotency-Key) and not answered yet. */
  'api.after-commit',
  /** The saga starter got Temporal's acceptance of a start and has not recorded it yet. */
  'saga-starter.after-start',
  /** An activity (reserveStock) has committed its transaction and not returned to Temporal yet. */
  'saga-worker.activity-after-commit',
  /** The relay got JetStream's acknowledgements of publishes and has not marked the rows yet. */
  'relay.after-ack',
  /** A subscriber's consumer has committed an event's effects and not acknowledged it yet. */
  'subscriber.after-commit',
] as const;

export type CrashPointName = (typeof CRASH_POINT_NAMES)[number];

/** Where a process reaches its crash points. */
export interface CrashPoints {
  /** Dies here, at once, when `name` is armed; does nothing otherwise. */
  reach(name: CrashPointName): void;
}

/** Crash points that never fire: the default everywhere. */
export const noCrashPoints: CrashPoints = { reach: () => undefined };

/**
 * Crash points of one process. `die` is the death (default: SIGKILL to this process); a crash
 * point logs its name first through `say`, synchronously, so the test's log shows where it died.
 *
 * @example
 * const crashPoints = createCrashPoints(config.crashPoints, (name) => process.stderr.write(`crash point ${name}\n`));
 * crashPoints.reach('saga-starter.after-start');
 */
export function createCrashPoints(
  armed: readonly CrashPointName[],
  say: (name: CrashPointName) => void,
  die: () => void = () => process.kill(process.pid, 'SIGKILL'),
): CrashPoints {
  if (armed.length === 0) return noCrashPoints;
  const names = new Set(armed);
  return {
    reach(name) {
      if (!names.has(name)) return;
      say(name);
      die();
    },
  };
}
