import { appendFileSync } from 'node:fs';

/** What a client operation was: a request of the workload, or the runner watching the read model. */
export type OpName = 'place' | 'get' | 'cancel' | 'confirm' | 'read-model';

/**
 * One line of the operation history. An operation is written twice: `invoke` when the client
 * starts it, then `ok` (a 2xx: it happened), `fail` (a 4xx: it did not) or `unknown` (no final
 * answer before the client gave up: it may or may not have happened). `t` is milliseconds since
 * the fault window opened.
 */
export interface OpEvent {
  t: number;
  /** Pairs an `invoke` with its completion. */
  id: number;
  type: 'invoke' | 'ok' | 'fail' | 'unknown';
  op: OpName;
  /** The planned order's index (the "process" of a Jepsen history); -1 for the read-model watcher. */
  order: number;
  key?: string;
  orderId?: string;
  /** HTTP status of the final answer. */
  status?: number;
  /** The order's status as a read saw it. */
  orderStatus?: string;
  /** Each saga step's state as a read saw it, `name:KIND=STATE`. */
  steps?: string[];
  error?: string;
}

/**
 * The operation history of a run, appended to `operations.jsonl` as it happens (a run that dies
 * still leaves it) and kept in memory for the checker.
 *
 * @example
 * const ops = new OpLog(join(runDir, 'operations.jsonl'), Date.now());
 * const id = ops.invoke({ op: 'get', order: 3, orderId });
 * ops.complete(id, 'ok', { op: 'get', order: 3, orderId, orderStatus: 'SHIPPING' });
 */
export class OpLog {
  readonly events: OpEvent[] = [];
  private next = 1;

  constructor(
    private readonly file: string | undefined,
    private readonly startedAt: number,
  ) {}

  invoke(fields: Omit<OpEvent, 't' | 'id' | 'type'>): number {
    const id = this.next++;
    this.write({ t: Date.now() - this.startedAt, id, type: 'invoke', ...fields });
    return id;
  }

  complete(id: number, type: 'ok' | 'fail' | 'unknown', fields: Omit<OpEvent, 't' | 'id' | 'type'>): void {
    this.write({ t: Date.now() - this.startedAt, id, type, ...fields });
  }

  private write(e: OpEvent): void {
    this.events.push(e);
    if (this.file) appendFileSync(this.file, `${JSON.stringify(e)}\n`);
  }
}
