import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { durationToMs } from '../../lib/config';
import type { Db } from '../../lib/db';
import { sleep } from '../../lib/wait';
import { checkoutRequest } from '../support/api';
import { stopProcess, type Exit, type TestProcess, type TestProcesses } from '../support/processes';
import { eventually } from '../support/services';

/**
 * What shutdown.test.ts drives its child processes with: orders placed under load and how each
 * ended, SIGTERM with the measures of a clean drain, and the whole pipeline under a trickle of
 * orders with one process at a time stopped and replaced.
 */

export const TOKEN = 'shutdown-token-0123456789abcdef';
export const GRACE = '15s';
export const GRACE_MS = durationToMs(GRACE);
export const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** How a child answered SIGTERM: its exit, how long it took, and whether it logged a forced exit. */
export interface Stopped {
  name: string;
  exit: Exit;
  tookMs: number;
  forced: boolean;
  /** Its last lines, to show when it did not drain cleanly. */
  tail: string;
}

/** Sends SIGTERM and waits for the exit; a child still running well after its grace period is SIGKILLed. */
export async function terminate(child: TestProcess): Promise<Stopped> {
  const sentAt = Date.now();
  const exit = await stopProcess(child, 'SIGTERM', GRACE_MS + 10_000);
  return {
    name: child.name,
    exit,
    tookMs: Date.now() - sentAt,
    forced: child.lines.some((l) => /forcing exit/.test(l)),
    tail: child.lines.slice(-10).join('\n'),
  };
}

/** A clean drain: exit code 0, within the grace period, and no forced exit logged. */
export function assertDrained(s: Stopped): void {
  assert.deepEqual(s.exit, { code: 0, signal: null }, `${s.name} exits 0 after SIGTERM; last output:\n${s.tail}`);
  assert.ok(s.tookMs < GRACE_MS, `${s.name} drained within its grace period (${s.tookMs} ms)`);
  assert.ok(!s.forced, `${s.name} logged no forced exit`);
}

export type Outcome =
  | { kind: 'accepted'; orderId: string }
  | { kind: 'refused' }
  | { kind: 'status'; status: number; body: string }
  | { kind: 'cut'; error: string };

export interface Attempt {
  key: string;
  startedAt: number;
  endedAt: number;
  outcome: Outcome;
  connection: string | null;
}

/**
 * One POST /checkouts. ECONNREFUSED means no connection was made, so nothing was sent; any other
 * failure (ECONNRESET, "other side closed", ...) is a request cut after it was sent.
 */
export async function placeOrder(base: string, sku: string): Promise<Attempt> {
  const key = randomUUID();
  const startedAt = Date.now();
  const done = (outcome: Outcome, connection: string | null = null): Attempt => ({
    key,
    startedAt,
    endedAt: Date.now(),
    outcome,
    connection,
  });
  try {
    const res = await fetch(`${base}/checkouts`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify(checkoutRequest({ customerId: 'cust-shutdown', sku })),
    });
    const text = await res.text();
    if (res.status !== 202) return done({ kind: 'status', status: res.status, body: text.slice(0, 300) });
    return done(
      { kind: 'accepted', orderId: (JSON.parse(text) as { orderId: string }).orderId },
      res.headers.get('connection'),
    );
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') return done({ kind: 'refused' });
    return done({ kind: 'cut', error: `${(err as Error).message}: ${cause?.code ?? ''} ${cause?.message ?? ''}` });
  }
}

export const accepted = (attempts: Attempt[]) =>
  attempts.flatMap((a) => (a.outcome.kind === 'accepted' ? [a.outcome.orderId] : []));

export async function statusCounts(db: Db, orderIds: string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) GROUP BY status',
    [orderIds],
  );
  return new Map(rows.map((r) => [r.status, r.n]));
}

/** Waits until every order is in a terminal status; returns the counts per status. */
export async function allTerminal(db: Db, orderIds: string[], timeoutMs: number): Promise<Map<string, number>> {
  return eventually(
    async () => {
      const counts = await statusCounts(db, orderIds);
      const terminal = TERMINAL.reduce((n, s) => n + (counts.get(s) ?? 0), 0);
      return terminal === orderIds.length ? counts : undefined;
    },
    timeoutMs,
    `all ${orderIds.length} orders to reach a terminal status`,
  );
}

export async function shipped(db: Db, skus: string[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT coalesce(sum(shipped), 0)::int AS n FROM products WHERE sku = ANY($1)',
    [skus],
  );
  return rows[0]?.n ?? 0;
}

/** Waits until the API at `base` answers GET /healthz. */
export async function apiUp(base: string): Promise<void> {
  await eventually(
    async () => ((await fetch(`${base}/healthz`).catch(() => undefined))?.ok ? true : undefined),
    60_000,
    `the API at ${base}`,
  );
}

const FILES = {
  api: 'api/server.ts',
  starter: 'workers/saga-starter.ts',
  worker: 'workers/saga-worker.ts',
  relay: 'workers/relay.ts',
  readModel: 'workers/read-model.ts',
};
type Role = keyof typeof FILES;
type Progress = 'terminal' | 'published' | 'projected';

/**
 * The whole stack as child processes (API, saga starter, saga worker, relay, read model under the consumer
 * name `consumer`) while two clients place an order every 250 ms each, with ways to watch its
 * progress and to SIGTERM and replace one process at a time. Every SIGTERM is kept in `stops`.
 */
export class PipelineUnderLoad {
  readonly attempts: Attempt[] = [];
  readonly stops: Stopped[] = [];
  readonly timings: string[] = [];
  readonly #running = new Map<Role, TestProcess>();
  #producing = true;
  #producers: Promise<void>[] = [];

  constructor(
    private readonly deps: {
      db: Db;
      processes: TestProcesses;
      env: Record<string, string>;
      base: string;
      consumer: string;
      skus: string[];
    },
  ) {}

  /** Starts every process, waits for the API, then starts the clients. */
  async start(): Promise<void> {
    for (const role of Object.keys(FILES) as Role[]) this.restart(role);
    await apiUp(this.deps.base);
  }

  produce(): void {
    // A steady trickle the whole stack keeps up with on a small machine (2 CPUs in CI).
    this.#producers = Array.from({ length: 2 }, async (_, i) => {
      while (this.#producing) {
        const a = await placeOrder(this.deps.base, this.deps.skus[i % this.deps.skus.length]!);
        this.attempts.push(a);
        // Judged after the run; the API is never stopped here, so anything but a 202 is a failure.
        if (a.outcome.kind !== 'accepted') return;
        await sleep(250);
      }
    });
  }

  /** Stops the clients; the backlog stays bounded while a process that takes seconds to start comes up. */
  async stopProducing(): Promise<void> {
    this.#producing = false;
    await Promise.all(this.#producers);
  }

  orderIds(): string[] {
    return accepted(this.attempts);
  }

  /** Starts (or starts again) the process of `role`. */
  restart(role: Role): TestProcess {
    // The read model's durable has a name of this run's own, outside the read-model user's
    // permissions (its default durable only): it runs as the stack's admin. The others run as
    // their principals; test/integration/principals.test.ts runs the read model as its own.
    const child = this.deps.processes.start(role, FILES[role], { env: this.deps.env, asGiven: role === 'readModel' });
    this.#running.set(role, child);
    return child;
  }

  /** SIGTERMs the running process of `role`, keeps how it went, and notes `label(ms)` in the timings. */
  async stop(role: Role, label: (tookMs: number) => Promise<string> | string): Promise<Stopped> {
    const stopped = await terminate(this.#running.get(role)!);
    this.stops.push(stopped);
    this.timings.push(await label(stopped.tookMs));
    return stopped;
  }

  async stopAll(): Promise<void> {
    for (const role of this.#running.keys()) await this.stop(role, (ms) => `final ${role} ${ms} ms`);
  }

  async progress(): Promise<Record<Progress, number>> {
    const orderIds = this.orderIds();
    const { rows } = await this.deps.db.query<Record<Progress, number>>(
      `SELECT
         (SELECT count(*)::int FROM orders WHERE id = ANY($1::uuid[]) AND status = ANY($2)) AS terminal,
         (SELECT count(*)::int FROM outbox WHERE partition_key = ANY($3) AND published_at IS NOT NULL) AS published,
         (SELECT count(*)::int FROM processed_events WHERE consumer = $4) AS projected`,
      [orderIds, TERMINAL, orderIds, this.deps.consumer],
    );
    return rows[0]!;
  }

  /** Waits until `what` grew by at least `by` since now: the process being judged is doing work. */
  async advances(what: Progress, by: number, label: string): Promise<void> {
    const start = (await this.progress())[what];
    await eventually(async () => ((await this.progress())[what] >= start + by ? true : undefined), 60_000, label);
  }

  /** Rows of these orders not yet published, and checkout.order.* events the read model has not applied. */
  async backlog(): Promise<{ unpublished: number; unprojected: number }> {
    const { rows } = await this.deps.db.query<{ unpublished: number; unprojected: number }>(
      `SELECT count(*) FILTER (WHERE published_at IS NULL)::int AS unpublished,
              count(*) FILTER (WHERE subject LIKE 'checkout.order.%' AND NOT EXISTS (
                SELECT 1 FROM processed_events p WHERE p.consumer = $2 AND p.event_id = outbox.event_id))::int AS unprojected
       FROM outbox WHERE partition_key = ANY($1)`,
      [this.orderIds(), this.deps.consumer],
    );
    return rows[0]!;
  }

  /** Sagas of these orders not yet in a terminal status. */
  async openSagas(): Promise<number> {
    const { rows } = await this.deps.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) AND NOT (status = ANY($2))',
      [this.orderIds(), TERMINAL],
    );
    return rows[0]?.n ?? 0;
  }

  /**
   * Stops the process of `role` while it keeps up with the flow, lets a backlog build up while
   * nothing replaces it, starts a second one and stops that one as soon as it is working through
   * the backlog (mid-batch), then starts a third that must finish the job. Returns the lag the
   * second one was stopped with.
   */
  async restartTwice(role: 'relay' | 'readModel', what: Progress, lag: () => Promise<number>): Promise<number> {
    await this.stop(role, async (ms) => `${role} ${ms} ms (lag ${await lag()})`);
    await sleep(3_000);
    const start = (await this.progress())[what];
    this.restart(role);
    // Polled tightly: the point is to catch it while it is busy.
    const deadline = Date.now() + 60_000;
    while ((await this.progress())[what] <= start) {
      assert.ok(Date.now() < deadline, `the restarted ${role} works within 60 s`);
      await sleep(20);
    }
    const lagAtSigterm = await lag();
    await this.stop(role, (ms) => `${role} mid-backlog ${ms} ms (lag ${lagAtSigterm})`);
    this.restart(role);
    await this.advances(what, 10, `the third ${role} to work`);
    return lagAtSigterm;
  }
}
