import { appendFileSync } from 'node:fs';
import { sleep } from '../../lib/wait';
import type { OpLog, OpEvent } from './oplog';

/** One request as the client saw it: a status, or the network error instead. */
export interface HistoryEntry {
  atMs: number;
  order: number;
  op: 'place' | 'get' | 'cancel' | 'confirm';
  attempt: number;
  key?: string;
  status?: number;
  error?: string;
  orderId?: string;
  orderStatus?: string;
}

/**
 * The recorded history of a run: every request and its outcome, appended to a JSONL file as it
 * happens (so a run that dies still leaves it) and kept in memory for the checker.
 */
export class History {
  readonly entries: HistoryEntry[] = [];

  constructor(
    private readonly file: string,
    private readonly startedAt: number,
  ) {}

  add(entry: Omit<HistoryEntry, 'atMs'>): void {
    const full = { atMs: Date.now() - this.startedAt, ...entry };
    this.entries.push(full);
    appendFileSync(this.file, `${JSON.stringify(full)}\n`);
  }
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** What a read's answer says about the order: its status and each step's state. */
function readFields(body: unknown): Pick<OpEvent, 'orderStatus' | 'steps'> {
  const b = body as { status?: unknown; steps?: unknown } | undefined;
  const out: Pick<OpEvent, 'orderStatus' | 'steps'> = {};
  if (typeof b?.status === 'string') out.orderStatus = b.status;
  if (Array.isArray(b?.steps)) {
    out.steps = (b.steps as { name?: unknown; kind?: unknown; state?: unknown }[]).map(
      (st) => `${String(st.name)}:${String(st.kind)}=${String(st.state)}`,
    );
  }
  return out;
}

/**
 * A client that behaves like a well-written real one: on a network error, a timeout or a 5xx it
 * retries the same request with the same `Idempotency-Key`, with capped backoff, until `deadline`.
 * 2xx and 4xx are final answers.
 *
 * @example
 * const api = new ChaosClient('http://127.0.0.1:3052', token, history, Date.now() + 300_000);
 * const r = await api.request(3, 'place', 'POST', '/checkouts', { key: 'k-3', body });
 */
export class ChaosClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly history: History,
    private readonly deadline: number,
    private readonly ops?: OpLog,
  ) {}

  /**
   * One operation, retried as a client would, written to the operation history as `invoke` and
   * then `ok` (2xx), `fail` (4xx) or `unknown` (no final answer).
   */
  async request(
    order: number,
    op: HistoryEntry['op'],
    method: 'GET' | 'POST',
    path: string,
    opts: { key?: string; body?: unknown; once?: boolean; orderId?: string } = {},
  ): Promise<ApiResponse | undefined> {
    const fields = { op, order, key: opts.key, orderId: opts.orderId };
    const id = this.ops?.invoke(fields);
    const r = await this.attempts(order, op, method, path, opts);
    if (id === undefined || !this.ops) return r;
    if (!r) this.ops.complete(id, 'unknown', fields);
    else {
      const orderId = opts.orderId ?? (r.body as { orderId?: unknown } | undefined)?.orderId;
      this.ops.complete(id, r.status < 400 ? 'ok' : 'fail', {
        ...fields,
        orderId: typeof orderId === 'string' ? orderId : undefined,
        status: r.status,
        ...(op === 'get' && r.status === 200 ? readFields(r.body) : {}),
      });
    }
    return r;
  }

  private async attempts(
    order: number,
    op: HistoryEntry['op'],
    method: 'GET' | 'POST',
    path: string,
    opts: { key?: string; body?: unknown; once?: boolean } = {},
  ): Promise<ApiResponse | undefined> {
    let delay = 250;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { Authorization: `Bearer ${this.token}` };
      if (opts.key) headers['Idempotency-Key'] = opts.key;
      if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
      try {
        const res = await fetch(`${this.baseUrl}${path}`, {
          method,
          headers,
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Not JSON (a proxy page, a truncated answer): kept as text for the history.
        }
        const b = body as { orderId?: unknown; status?: unknown };
        this.history.add({
          order,
          op,
          attempt,
          key: opts.key,
          status: res.status,
          ...(typeof b?.orderId === 'string' ? { orderId: b.orderId } : {}),
          ...(typeof b?.status === 'string' ? { orderStatus: b.status } : {}),
        });
        if (res.status < 500) return { status: res.status, body };
      } catch (err) {
        this.history.add({ order, op, attempt, key: opts.key, error: (err as Error).message });
      }
      if (opts.once || Date.now() + delay > this.deadline) return undefined;
      await sleep(delay);
      delay = Math.min(delay * 2, 3_000);
    }
  }
}
