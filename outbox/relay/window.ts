import type { OutboxRow } from './claim';
import { publishRow, type PublishDeps } from './publish';

/**
 * The publishes one relay keeps in flight, across claims: rows are added as they are claimed and
 * leave when their published mark is committed (or when they fail), so the broker never waits for
 * a batch boundary.
 *
 * Per order, a row is published only after its predecessor in the window was acked; once one
 * fails, the order's later rows in the window are given up unpublished (they are claimed again,
 * in order, on the next attempt). A row stays in `ids()` until `release()`, so a claim never
 * returns a row that is in flight or acked but not yet marked.
 *
 * @example
 * const window = new PublishWindow(deps);
 * window.add(await claimBatch(client, partitions, room, window.ids()));
 * await window.next();
 * const ids = window.takeAcked(); await markPublished(client, ids); window.release(ids);
 */
export class PublishWindow {
  private waiter: { promise: Promise<void>; resolve: () => void } | undefined;
  private readonly inWindow = new Set<string>();
  /** Per order, the last publish added: resolves true once acked, false when failed or given up. */
  private readonly tails = new Map<string, Promise<boolean>>();
  private acked: string[] = [];
  private running = 0;
  private closed = false;
  private ackedCount = 0;
  private readonly failures: unknown[] = [];

  constructor(private readonly deps: PublishDeps) {}

  /**
   * Resolves at the next settled publish (or `poke`). No timer: while a publish is pending one
   * will settle, if only by its own publish timeout, so call it only then.
   */
  next(): Promise<void> {
    if (!this.waiter) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => (resolve = r));
      this.waiter = { promise, resolve };
    }
    return this.waiter.promise;
  }

  /** Wakes whoever awaits `next()` (a NOTIFY: new rows may be waiting). */
  poke(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve();
  }

  /** Rows claimed and not yet released. */
  get size(): number {
    return this.inWindow.size;
  }

  /** Publishes not yet settled. */
  get pending(): number {
    return this.running;
  }

  /** Rows acked and not yet taken for marking. */
  get unmarked(): number {
    return this.acked.length;
  }

  /** Rows acked so far, marked or not. */
  get ackedTotal(): number {
    return this.ackedCount;
  }

  /** Every publish failure so far (the relay stops claiming at the first). */
  get errors(): readonly unknown[] {
    return this.failures;
  }

  /** Ids of the rows in the window, for the claim to skip. */
  ids(): string[] {
    return [...this.inWindow];
  }

  /** Starts publishing `rows` (in id order), each after its order's previous row in the window. */
  add(rows: readonly OutboxRow[]): void {
    for (const row of rows) {
      this.inWindow.add(row.id);
      this.running += 1;
      const key = row.partition_key;
      const previous = this.tails.get(key) ?? Promise.resolve(true);
      const next = previous.then((ok) => (ok && !this.closed ? this.publish(row) : this.giveUp(row)));
      this.tails.set(key, next);
      void next.finally(() => {
        if (this.tails.get(key) === next) this.tails.delete(key);
      });
    }
  }

  /** The ids acked since the last call, for one set-based mark; they stay in the window until `release`. */
  takeAcked(): string[] {
    const ids = this.acked;
    this.acked = [];
    return ids;
  }

  /** Removes marked rows from the window. */
  release(ids: readonly string[]): void {
    for (const id of ids) this.inWindow.delete(id);
  }

  /**
   * Stops publishing: rows not yet sent are given up. Resolves once every publish already sent has
   * settled, so nothing of this relay is still in flight when its partitions are given up.
   */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running > 0) await this.next();
  }

  private async publish(row: OutboxRow): Promise<boolean> {
    const startedAt = performance.now();
    try {
      await publishRow(this.deps, row);
      this.acked.push(row.id);
      this.ackedCount += 1;
      this.deps.metrics.published((performance.now() - startedAt) / 1000, row.created_at);
      return true;
    } catch (err) {
      // The rest of this order waits for the next attempt: publishing past a failed event
      // would put its successors in the stream ahead of it.
      this.failures.push(err);
      this.deps.metrics.publishFailed(err);
      this.inWindow.delete(row.id);
      return false;
    } finally {
      this.settled();
    }
  }

  private giveUp(row: OutboxRow): boolean {
    this.inWindow.delete(row.id);
    this.settled();
    return false;
  }

  private settled(): void {
    this.running -= 1;
    this.poke();
  }
}
