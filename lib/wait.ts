import { sleep } from '../events/consumer/sleep';

// One abortable sleep for the app and the consumer kit, which ships it.
export { sleep };

/**
 * A wake-up latch: `wait(ms)` resolves on the next `wake()`, after `ms`, or on abort,
 * whichever comes first. A `wake()` with nobody waiting is remembered once.
 */
export class Wakeup {
  private pending = false;
  private resolve: (() => void) | undefined;

  wake(): void {
    if (this.resolve) {
      const r = this.resolve;
      this.resolve = undefined;
      r();
    } else {
      this.pending = true;
    }
  }

  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    // An abort that came before the call fires no event: without this the wait would run its
    // full `ms` (a relay stopping after a batch would linger for a whole poll interval).
    if (signal?.aborted) return;
    if (this.pending) {
      this.pending = false;
      return;
    }
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([
        new Promise<void>((resolve) => {
          this.resolve = resolve;
        }),
        sleep(ms, controller.signal),
      ]);
    } finally {
      this.resolve = undefined;
      controller.abort();
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
