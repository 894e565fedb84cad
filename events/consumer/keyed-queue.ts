import pLimit, { type LimitFunction } from 'p-limit';

/**
 * Runs tasks with at most `concurrency` at once overall and strictly one after another per key,
 * in submission order. Used so events of one order are handled serially while different orders
 * proceed in parallel.
 *
 * @example
 * const q = new KeyedQueue(8);
 * q.push(orderId, () => handle(msg));
 * await q.idle();
 */
export class KeyedQueue {
  private readonly limit: LimitFunction;
  private readonly tails = new Map<string, Promise<void>>();

  constructor(concurrency: number) {
    this.limit = pLimit(concurrency);
  }

  /** Number of keys with work queued or running. */
  get activeKeys(): number {
    return this.tails.size;
  }

  /**
   * Queues `task` behind earlier tasks of `key`. The task must handle its own errors: a rejection
   * is reported to `onError` and does not stop later tasks of the key.
   */
  push(key: string, task: () => Promise<void>, onError: (err: unknown) => void): void {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.limit(task)).catch(onError);
    this.tails.set(key, next);
    void next.finally(() => {
      if (this.tails.get(key) === next) this.tails.delete(key);
    });
  }

  /** Resolves when every queued task has finished. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.allSettled([...this.tails.values()]);
  }
}
