import { sleep } from '../../lib/wait';
import { StackError } from './errors';

/** Outcome of one readiness probe: done with a value, or not yet and why (shown on timeout). */
export type ProbeResult<T> = { done: true; value: T } | { done: false; reason: string };

/**
 * Probes until `probe` reports done or `timeoutMs` passes, sleeping `intervalMs` between probes.
 * A probe that throws aborts the wait at once (use that for fatal states such as "the process exited").
 *
 * @throws StackError naming `what`, the last reason, and `fix` when the deadline passes.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<ProbeResult<T>>,
  opts: { intervalMs?: number; fix?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const intervalMs = opts.intervalMs ?? 500;
  for (;;) {
    const result = await probe();
    if (result.done) return result.value;
    if (Date.now() + intervalMs > deadline) {
      throw new StackError(
        `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}: ${result.reason}`,
        opts.fix,
      );
    }
    await sleep(intervalMs);
  }
}
