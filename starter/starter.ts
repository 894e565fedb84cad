import { context as otelContext } from '@opentelemetry/api';
import type { PlacedOrder } from '../checkouts/place-order';
import { checkoutWorkflowId } from '../domain/order';
import { contextFromTraceparent } from '../events/trace-context';
import { noCrashPoints, type CrashPoints } from '../lib/crash-points';
import { withTransaction, type Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import { sleep, Wakeup } from '../lib/wait';
import { isTemporalOutage, OutageBackoff } from './outage';
import { noopStarterMetrics, type StartResult, type StarterMetrics } from './metrics';
import { claimDueStarts, recordRefused, recordStarted, type PendingStart } from './queue';

/** What starting one saga answered: a new run, or a run that already exists (running or closed). */
export type StartOutcome = 'started' | 'already-started';

export interface SagaStarterOptions {
  /** Starts in flight at most (over every lane of this process). */
  concurrency: number;
  /** How often to look for due rows when no NOTIFY arrives (lost notification, retries coming due). */
  pollIntervalMs: number;
  /** How long one start may take; past it the outcome is unknown and the row is tried again. */
  startTimeoutMs: number;
}

export interface SagaStarterDeps {
  db: Db;
  /** Starts the order's saga, idempotently (one workflow id per order, never a second run). */
  start: (order: PlacedOrder, timeoutMs: number) => Promise<StartOutcome>;
  logger: Logger;
  metrics?: StarterMetrics;
  crashPoints?: CrashPoints;
}

/** Rows one lane claims and starts at once: one transaction, one commit, for up to this many. */
const MAX_BATCH = 16;
const DB_BACKOFF_MIN_MS = 250;
const DB_BACKOFF_MAX_MS = 5_000;
const REFUSED_RETRY_MIN_MS = 1_000;
const REFUSED_RETRY_MAX_MS = 300_000;

type Attempt =
  | { pending: PendingStart; result: 'started' | 'already-started' }
  | { pending: PendingStart; result: 'unavailable' | 'refused'; error: unknown };

/**
 * Starts the saga of every committed order that has none (`saga_starts`), as a separate loop from
 * the API: POST /checkouts only commits the order and its queue row.
 *
 * - **Claims.** Each lane claims up to a batch of due rows with `FOR UPDATE SKIP LOCKED`, starts
 *   them concurrently, and in the same transaction deletes the rows Temporal accepted. Several
 *   lanes and several processes never claim one row twice; a cancel before the start waits for
 *   the row lock, so a starting saga and a cancel cannot both win.
 * - **Crash safety.** A row is deleted only after Temporal accepted its start, in the claim's
 *   transaction: a crash anywhere leaves it locked by a dead session, released at once, and the
 *   next claim starts it again. Starts are idempotent (workflow id `checkout-<orderId>`, conflict
 *   policy FAIL, reuse policy REJECT_DUPLICATE): a workflow that already exists, running or
 *   closed, counts as started, so there is never a second run.
 * - **Outages.** While Temporal does not answer, every lane waits out a shared, growing backoff and
 *   one probe start at a time tests it; the rows stay queued (accepted orders wait, none is lost).
 *   A start Temporal refuses for the order itself is retried later with its own backoff.
 * - **Wake-ups.** `wake()` (the LISTEN connection calls it on each NOTIFY of a committed order)
 *   wakes every idle lane; a poll every `pollIntervalMs` covers lost notifications and retries.
 *
 * @example
 * const starter = new SagaStarter({ db, start: (order, ms) => saga.start(order, ms), logger }, { concurrency: 32, pollIntervalMs: 1000, startTimeoutMs: 5000 });
 * await starter.run(signal);
 */
export class SagaStarter {
  private readonly lanes: Wakeup[];
  private readonly batchSize: number;
  private readonly outage = new OutageBackoff();
  private readonly metrics: StarterMetrics;
  private readonly crashPoints: CrashPoints;

  constructor(
    private readonly deps: SagaStarterDeps,
    private readonly options: SagaStarterOptions,
  ) {
    this.batchSize = Math.min(MAX_BATCH, options.concurrency);
    this.lanes = Array.from({ length: Math.ceil(options.concurrency / this.batchSize) }, () => new Wakeup());
    this.metrics = deps.metrics ?? noopStarterMetrics;
    this.crashPoints = deps.crashPoints ?? noCrashPoints;
  }

  /** A committed order is waiting: wakes every idle lane (a busy one looks again when its batch ends). */
  wake(): void {
    for (const lane of this.lanes) lane.wake();
  }

  /** Runs every lane until `signal` aborts; the batches in flight finish (start, record, commit) first. */
  async run(signal: AbortSignal): Promise<void> {
    this.deps.logger.info(
      { lanes: this.lanes.length, batchSize: this.batchSize, concurrency: this.options.concurrency },
      'saga starter running',
    );
    await Promise.all(this.lanes.map((wakeup, i) => this.runLane(i, wakeup, signal)));
    this.deps.logger.info('saga starter stopped');
  }

  private async runLane(lane: number, wakeup: Wakeup, signal: AbortSignal): Promise<void> {
    let dbBackoffMs = DB_BACKOFF_MIN_MS;
    while (!signal.aborted) {
      // During an outage one lane probes with a single start; the others wait for its verdict.
      if (this.outage.active && lane > 0) {
        await this.outage.settled(signal);
        continue;
      }
      await this.outage.wait(signal);
      if (signal.aborted) return;
      let claimed: number;
      try {
        claimed = await this.runBatch(this.outage.active ? 1 : this.batchSize);
        dbBackoffMs = DB_BACKOFF_MIN_MS;
      } catch (err) {
        this.deps.logger.warn({ err, lane, retryInMs: dbBackoffMs }, 'saga starter database error; retrying');
        await sleep(dbBackoffMs, signal);
        dbBackoffMs = Math.min(dbBackoffMs * 2, DB_BACKOFF_MAX_MS);
        continue;
      }
      if (claimed < this.batchSize && !this.outage.active) await wakeup.wait(this.options.pollIntervalMs, signal);
    }
  }

  /** Claims, starts and records one batch in one transaction; returns how many rows it claimed. */
  private runBatch(limit: number): Promise<number> {
    return withTransaction(this.deps.db, async (tx) => {
      const claimed = await claimDueStarts(tx, limit);
      if (claimed.length === 0) return 0;
      const attempts = await Promise.all(claimed.map((pending) => this.attempt(pending)));
      const accepted = attempts.filter((a) => a.result === 'started' || a.result === 'already-started');
      await recordStarted(
        tx,
        accepted.map((a) => a.pending.order.orderId),
      );
      for (const a of attempts) {
        if (a.result !== 'refused') continue;
        const retryInMs = Math.min(REFUSED_RETRY_MIN_MS * 2 ** a.pending.attempts, REFUSED_RETRY_MAX_MS);
        await recordRefused(tx, a.pending.order.orderId, errorText(a.error), retryInMs);
      }
      this.settleOutage(attempts);
      return claimed.length;
    });
  }

  /** One start, in the order's trace; never throws: the outcome says what happened. */
  private async attempt(pending: PendingStart): Promise<Attempt> {
    const { order } = pending;
    const startedAt = performance.now();
    try {
      const result = await otelContext.with(contextFromTraceparent(order.traceparent), () =>
        this.deps.start(order, this.options.startTimeoutMs),
      );
      // Temporal has the workflow; this process has not recorded it yet.
      this.crashPoints.reach('saga-starter.after-start');
      this.metrics.started(result, (performance.now() - startedAt) / 1000, pending.createdAt);
      // Found already running (or closed): a start accepted earlier whose record was lost, by a
      // starter that crashed or timed out; worth a line, since it means one just recovered.
      if (result === 'already-started')
        this.deps.logger.info({ orderId: order.orderId }, 'saga was already started; recording its start');
      else if (pending.attempts > 0)
        this.deps.logger.info({ orderId: order.orderId, attempts: pending.attempts }, 'saga started after retries');
      return { pending, result };
    } catch (err) {
      const result: StartResult = isTemporalOutage(err) ? 'unavailable' : 'refused';
      this.metrics.started(result, (performance.now() - startedAt) / 1000, pending.createdAt);
      if (result === 'refused')
        this.deps.logger.error(
          {
            err,
            orderId: order.orderId,
            workflowId: checkoutWorkflowId(order.orderId),
            attempts: pending.attempts + 1,
          },
          'Temporal refused to start the saga; retrying later',
        );
      return { pending, result, error: err };
    }
  }

  /** Any answer from Temporal ends an outage; only unavailability (and no answer at all) extends it. */
  private settleOutage(attempts: readonly Attempt[]): void {
    const answered = attempts.some((a) => a.result !== 'unavailable');
    if (answered) {
      const downForMs = this.outage.recovered();
      if (downForMs !== undefined) this.deps.logger.info({ downForMs }, 'Temporal answers again; starting sagas');
      return;
    }
    const failed = attempts.find((a) => a.result === 'unavailable');
    if (!failed || !('error' in failed)) return;
    const retryInMs = this.outage.failed();
    this.deps.logger.warn(
      { err: errorText(failed.error), retryInMs, queued: attempts.length },
      'Temporal unavailable; checkouts stay queued, backing off',
    );
  }
}

/** One line for a log or the queue's `last_error`: the error and its causes (Temporal wraps the gRPC status). */
function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 4; depth += 1) {
    parts.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(' <- ');
}
