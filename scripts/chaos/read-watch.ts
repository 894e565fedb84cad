import type { Db } from '../../lib/db';
import { sleep } from '../../lib/wait';
import type { OpLog } from './oplog';

const EVERY_MS = 250;

/**
 * Watches the order read model (`read_orders`, behind GET /orders) while the run goes on, and
 * writes to the operation history the first moment each order, and each of its statuses, shows
 * there: the checker measures the read model's lag from it. `stop()` ends the watch and waits
 * for its last poll; a poll that fails (the database is being faulted) is written as `unknown`.
 *
 * @example
 * const watch = new ReadModelWatch(db, ops);
 * const done = watch.run();
 * ...
 * await watch.stop(); await done;
 */
export class ReadModelWatch {
  private stopped = false;
  private readonly seen = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly ops: OpLog,
  ) {}

  async run(): Promise<void> {
    while (!this.stopped) {
      await this.poll();
      await sleep(EVERY_MS);
    }
    await this.poll();
  }

  stop(): void {
    this.stopped = true;
  }

  private async poll(): Promise<void> {
    const id = this.ops.invoke({ op: 'read-model', order: -1 });
    let rows: { order_id: string; status: string }[];
    try {
      rows = (await this.db.query<{ order_id: string; status: string }>('SELECT order_id, status FROM read_orders'))
        .rows;
    } catch (err) {
      this.ops.complete(id, 'unknown', { op: 'read-model', order: -1, error: (err as Error).message });
      return;
    }
    // One completion per newly seen (order, status): the history stays small.
    let fresh = 0;
    for (const r of rows) {
      const k = `${r.order_id}/${r.status}`;
      if (this.seen.has(k)) continue;
      this.seen.add(k);
      fresh += 1;
      this.ops.complete(id, 'ok', { op: 'read-model', order: -1, orderId: r.order_id, orderStatus: r.status });
    }
    if (fresh === 0) this.ops.complete(id, 'ok', { op: 'read-model', order: -1 });
  }
}
