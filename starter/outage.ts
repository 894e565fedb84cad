import { sleep } from '../lib/wait';

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5_000;

// gRPC status codes that mean "Temporal could not answer", not "Temporal refused this order".
const OUTAGE_CODES = new Set([
  1, // CANCELLED (the connection went away under the call)
  2, // UNKNOWN
  4, // DEADLINE_EXCEEDED (no answer within the start timeout: the outcome is unknown)
  8, // RESOURCE_EXHAUSTED (rate limited)
  13, // INTERNAL
  14, // UNAVAILABLE
]);

function grpcCode(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/**
 * True when a start failed because Temporal did not answer (down, unreachable, overloaded, too
 * slow), so every start would fail alike; false when Temporal answered and refused this start
 * (a bad argument, a missing namespace or search attribute, no permission).
 *
 * @example
 * isTemporalOutage(new ServiceError('Failed to start Workflow', { cause: { code: 14 } })); // true
 */
export function isTemporalOutage(err: unknown): boolean {
  const code = grpcCode(err);
  if (code !== undefined) return OUTAGE_CODES.has(code);
  // The native client's transport errors carry no gRPC status.
  return (
    err instanceof Error && /TransportError|tcp connect error|Connection refused/i.test(`${err.name} ${err.message}`)
  );
}

/**
 * The saga starter's shared backoff while Temporal is down: each failed probe doubles the wait
 * (0.25 s to 5 s); the first answer ends it. Lanes that are not probing wait for `settled`.
 */
export class OutageBackoff {
  private delayMs = 0;
  private untilMs = 0;
  private since: number | undefined;
  private ended: (() => void) | undefined;
  private endedPromise: Promise<void> | undefined;

  /** True from the first unanswered start until an answer. */
  get active(): boolean {
    return this.since !== undefined;
  }

  /** Records a start Temporal did not answer; returns the wait before the next probe. */
  failed(now = Date.now()): number {
    if (this.since === undefined) {
      this.since = now;
      this.endedPromise = new Promise((resolve) => {
        this.ended = resolve;
      });
    }
    this.delayMs = Math.min(Math.max(this.delayMs * 2, BACKOFF_MIN_MS), BACKOFF_MAX_MS);
    this.untilMs = now + this.delayMs;
    return this.delayMs;
  }

  /** Temporal answered: ends the outage; returns how long it lasted, or undefined if there was none. */
  recovered(now = Date.now()): number | undefined {
    if (this.since === undefined) return undefined;
    const lasted = now - this.since;
    this.since = undefined;
    this.delayMs = 0;
    this.untilMs = 0;
    this.ended?.();
    this.ended = undefined;
    this.endedPromise = undefined;
    return lasted;
  }

  /** Waits out the current backoff (at once when there is none). */
  async wait(signal: AbortSignal): Promise<void> {
    const left = this.untilMs - Date.now();
    if (left > 0) await sleep(left, signal);
  }

  /** Resolves when the outage ends, or after a second (to look at the signal again), or on abort. */
  async settled(signal: AbortSignal): Promise<void> {
    await Promise.race([this.endedPromise ?? Promise.resolve(), sleep(1_000, signal)]);
  }
}
