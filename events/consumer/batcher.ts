import { settleBatch, type BatchItem } from './batch';
import type { ConsumerRuntime } from './runtime';

/**
 * Collects delivered events into batches of at most `size` and settles one batch at a time, in
 * delivery order, so an order's events keep their order across batches. No timer: the first event
 * after a quiet spell is settled at once (a batch of one), and whatever arrives while a batch is in
 * its transaction forms the next one, so batches grow with the load and latency stays low when idle.
 *
 * @example
 * const batcher = new Batcher(rt, 100, (err, n) => logger.error({ err, n }, 'could not settle'));
 * batcher.push(item);
 * await batcher.idle();
 */
export class Batcher {
  private pending: BatchItem[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly rt: ConsumerRuntime,
    private readonly size: number,
    private readonly onError: (err: unknown, messages: number) => void,
  ) {}

  push(item: BatchItem): void {
    this.pending.push(item);
    this.running ??= this.drain();
  }

  /** Resolves once every pushed event has been settled. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.size);
        try {
          await settleBatch(this.rt, batch);
        } catch (err) {
          // Settling failed (NATS unreachable while acking): the server redelivers after ack_wait.
          this.onError(err, batch.length);
        }
      }
    } finally {
      // Cleared in the same turn as the last check above, so a push right after starts a new drain.
      this.running = undefined;
    }
  }
}
