import { settleBatch, type BatchItem } from './batch';
import type { ConsumerRuntime } from './runtime';

/** Batches in their transactions at once (each holds one pooled connection). */
const BATCHES_IN_FLIGHT = 2;

/**
 * Collects delivered events into batches of at most `size` and settles them in delivery order. No
 * timer: the first event after a quiet spell is settled at once (a batch of one), and whatever
 * arrives while a batch is in its transaction forms the next, so batches grow with the load and
 * latency stays low when idle. A second batch runs beside the first only when the two share no
 * order; otherwise it waits for the first to finish (including its retries after a failure), so
 * an order's events are applied in delivery order across batches.
 *
 * @example
 * const batcher = new Batcher(rt, 100, (err, n) => logger.error({ err, n }, 'could not settle'));
 * batcher.push(item);
 * await batcher.idle();
 */
export class Batcher {
  private pending: BatchItem[] = [];
  private readonly running = new Map<Promise<void>, ReadonlySet<string>>();

  constructor(
    private readonly rt: ConsumerRuntime,
    private readonly size: number,
    private readonly onError: (err: unknown, messages: number) => void,
  ) {}

  push(item: BatchItem): void {
    this.pending.push(item);
    this.startNext();
  }

  /** Resolves once every pushed event has been settled. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.keys());
  }

  private startNext(): void {
    while (this.running.size < BATCHES_IN_FLIGHT && this.pending.length > 0) {
      const batch = this.pending.slice(0, this.size);
      const orders = new Set(batch.map((i) => i.event.subject));
      const busy = [...this.running.values()].some((o) => [...orders].some((order) => o.has(order)));
      if (busy) return;
      this.pending = this.pending.slice(batch.length);
      const settling = settleBatch(this.rt, batch)
        // Settling failed (NATS unreachable while acking): the server redelivers after ack_wait.
        .catch((err: unknown) => this.onError(err, batch.length))
        .finally(() => {
          this.running.delete(settling);
          this.startNext();
        });
      this.running.set(settling, orders);
    }
  }
}
