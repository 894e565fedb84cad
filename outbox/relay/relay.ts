import type { JetStreamClient } from 'nats';
import type { Db, Tx } from '../../lib/db';
import type { Logger } from '../../lib/logger';
import { sleep, Wakeup } from '../../lib/wait';
import { OUTBOX_CHANNEL } from '../append';
import { noopRelayMetrics, type RelayMetrics } from '../metrics';
import type { CrashPoints } from '../../lib/crash-points';
import { claimBatch, markPublished } from './claim';
import { joinRelays, PartitionOwnership } from './partitions';
import { deletePublishedRows } from './retention';
import { PublishWindow } from './window';

export interface RelayOptions {
  /** Most rows one claim reads. */
  batchSize: number;
  /**
   * Most publishes in flight (or acked and not yet marked) at once, across claims; the next rows
   * are claimed while earlier ones await their acks. Defaults to `batchSize`, at least 1.
   */
  windowSize?: number;
  pollIntervalMs: number;
  /** How often a relay recounts the members and takes or gives back partitions. */
  rebalanceIntervalMs: number;
  publishTimeoutMs: number;
  /** Published rows older than this are deleted. */
  retentionMs: number;
}

/** What a relay is doing right now, for logs and metrics. */
export interface RelayStatus {
  /** Partitions this relay holds, ascending; empty while it has no database connection. */
  ownedPartitions: number[];
  /** Relays holding the member lock at the last rebalance, this one included; 0 while disconnected. */
  members: number;
  /** Rows acked and marked published by the last round (claims until nothing was left). */
  lastBatchSize: number;
}

interface BatchOutcome {
  acked: number;
  failed: number;
  /** The round stopped with rows still to claim (rebalance due, or stopping). */
  more?: boolean;
  /** The first publish failure, if any; database failures are thrown instead. */
  error?: unknown;
}

const CLEANUP_EVERY_MS = 60_000;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5_000;

/**
 * Publishes committed outbox rows to JetStream and marks them published only after the ack.
 * Several relays share the work; each order's events keep their commit order.
 *
 * - Rows carry a stored `partition` (a fixed hash of the order id). A relay publishes only the
 *   partitions whose advisory locks it holds, so one order is published by one relay at a time.
 *   All its locks live on one dedicated connection that also runs every relay query: when the
 *   connection goes, the locks go, and so does this relay's right to publish.
 * - Every relay holds a shared member lock; a periodic rebalance counts the holders and takes
 *   free partitions up to `ceil(partitions / members)`, or gives back the extras. It runs between
 *   batches, so a partition never changes hands while a batch of it is in flight, and a dead
 *   relay's partitions are picked up by the others within about one rebalance interval
 *   (`./partitions.ts`).
 * - Rows are read as "unpublished, in id order", never "id > last seen", so a row whose
 *   transaction commits late is still picked up (`./claim.ts`).
 * - Within a batch, rows of different orders publish concurrently; rows of one order publish one
 *   after another, each waiting for its ack, so an order's events keep their commit order even
 *   when a publish fails midway (`./publish.ts`).
 * - JetStream drops a republished row by its `Nats-Msg-Id` (the event id), so a crash between the
 *   ack and the UPDATE, or a handover, only costs a duplicate that is discarded. Together with the
 *   ack-before-next rule this also keeps an order in order if two relays ever overlap briefly
 *   (a session killed server-side while its process is still mid-batch): an event is only sent
 *   once its predecessor is in the stream, whoever sent it.
 * - A publish failure (NATS down) keeps the connection and the partitions and backs off; a
 *   database failure drops the connection, and with it every partition, and reconnects.
 *
 * @example
 * const relay = new OutboxRelay({ db, js: nc.jetstream(), logger }, options);
 * await relay.run(signal);
 */
export class OutboxRelay {
  private readonly wakeup = new Wakeup();
  private readonly partitions: PartitionOwnership;
  private lastBatchSize = 0;
  private lastCleanup = 0;
  private dbBackoffMs = BACKOFF_MIN_MS;
  private publishBackoffMs = 0;
  private failedAttempts = 0;
  private connectionLost: Error | undefined;
  /** A NOTIFY arrived since the last claim of a round looked at it. */
  private notified = false;
  /** The window of the round in progress, woken by a NOTIFY so new rows are claimed without waiting for an ack. */
  private activeWindow: PublishWindow | undefined;
  private readonly metrics: RelayMetrics;

  constructor(
    private readonly deps: {
      db: Db;
      js: Pick<JetStreamClient, 'publish'>;
      logger: Logger;
      metrics?: RelayMetrics;
      /** Test-only deaths (lib/crash-points.ts); none by default. */
      crashPoints?: CrashPoints;
    },
    private readonly options: RelayOptions,
  ) {
    this.metrics = deps.metrics ?? noopRelayMetrics;
    this.partitions = new PartitionOwnership(deps.logger);
  }

  /**
   * A snapshot of what this relay owns and did last.
   *
   * @example
   * const { ownedPartitions, members, lastBatchSize } = relay.status();
   */
  status(): RelayStatus {
    return {
      ownedPartitions: this.partitions.list(),
      members: this.partitions.members,
      lastBatchSize: this.lastBatchSize,
    };
  }

  /**
   * Runs until `signal` aborts; the batch in flight finishes first, then the connection is
   * closed, which releases every partition at once.
   *
   * @example
   * await relay.run(signal);
   */
  async run(signal: AbortSignal): Promise<void> {
    const unwatch = this.metrics.watch(this);
    try {
      await this.runSessions(signal);
    } finally {
      unwatch();
    }
    this.deps.logger.info('outbox relay stopped');
  }

  private async runSessions(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let client: Tx | undefined;
      let broken: Error | undefined;
      try {
        client = await this.deps.db.connect();
        this.connectionLost = undefined;
        // A pool client that is checked out has no 'error' listener of the pool's; without ours a
        // connection dying while we wait would be an unhandled 'error' event and kill the process.
        client.on('error', (err: Error) => {
          this.connectionLost = err;
          this.wakeup.wake();
          this.activeWindow?.poke();
        });
        client.on('notification', () => {
          this.notified = true;
          this.wakeup.wake();
          this.activeWindow?.poke();
        });
        await this.session(client, signal);
      } catch (err) {
        broken = err as Error;
        this.metrics.sessionFailed();
        this.deps.logger.warn(
          { err, retryInMs: this.dbBackoffMs },
          'outbox relay database error; dropping the connection and its partitions, reconnecting',
        );
      } finally {
        if (client) {
          client.removeAllListeners('notification');
          client.removeAllListeners('error');
          // Always destroy, never return it to the pool: closing the session is what releases the
          // locks, and a pooled connection still holding them would block every other relay.
          client.release(broken ?? true);
        }
        this.partitions.forget(broken ? 'database error' : 'stopping');
      }
      if (broken) {
        await sleep(this.dbBackoffMs, signal);
        this.dbBackoffMs = Math.min(this.dbBackoffMs * 2, BACKOFF_MAX_MS);
      }
    }
  }

  private async session(client: Tx, signal: AbortSignal): Promise<void> {
    const backendPid = await joinRelays(client);
    await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    // The backend pid ties this process to its locks in pg_locks.
    this.deps.logger.info({ backendPid }, 'outbox relay joined');
    let nextRebalance = 0;
    let resumeAt = 0;
    while (!signal.aborted) {
      if (this.connectionLost) throw this.connectionLost;
      if (Date.now() >= nextRebalance) {
        await this.partitions.rebalance(client);
        nextRebalance = Date.now() + this.options.rebalanceIntervalMs;
      }
      const now = Date.now();
      if (this.partitions.size === 0 || now < resumeAt) {
        // Nothing to publish until the next rebalance or the end of a publish backoff; NOTIFYs are
        // ignored here on purpose, or a busy outbox would turn the backoff into a busy loop.
        const until = this.partitions.size === 0 ? nextRebalance : Math.min(nextRebalance, resumeAt);
        await sleep(Math.max(0, until - now), signal);
        continue;
      }
      const outcome = await this.pump(client, nextRebalance, signal);
      this.dbBackoffMs = BACKOFF_MIN_MS;
      await this.maybeCleanup(client);
      if (outcome.error !== undefined) {
        resumeAt = Date.now() + this.nextPublishBackoff(outcome);
        continue;
      }
      if (this.failedAttempts > 0) {
        this.deps.logger.info({ failedAttempts: this.failedAttempts }, 'outbox relay publishing again');
        this.failedAttempts = 0;
        this.publishBackoffMs = 0;
      }
      if (!outcome.more) {
        await this.wakeup.wait(Math.max(0, Math.min(this.options.pollIntervalMs, nextRebalance - Date.now())), signal);
      }
    }
  }

  /** Grows the backoff only while nothing gets through, so one bad row does not slow the rest. */
  private nextPublishBackoff(outcome: BatchOutcome): number {
    this.failedAttempts += 1;
    this.publishBackoffMs =
      outcome.acked > 0
        ? BACKOFF_MIN_MS
        : Math.min(Math.max(this.publishBackoffMs * 2, BACKOFF_MIN_MS), BACKOFF_MAX_MS);
    this.deps.logger.warn(
      {
        err: outcome.error,
        acked: outcome.acked,
        failed: outcome.failed,
        attempt: this.failedAttempts,
        retryInMs: this.publishBackoffMs,
      },
      'outbox relay could not publish; keeping its partitions and retrying',
    );
    return this.publishBackoffMs;
  }

  /**
   * One round: claims rows into the publish window while it has room, marks acked rows (one
   * UPDATE for all acked since the last one) and claims again, until nothing is left to claim, a
   * publish fails, or the rebalance is due; then lets the window drain and marks the rest. The
   * window is always empty on return, so partitions only change hands between rounds. A publish
   * failure is returned (it is not a database problem); a database failure is thrown.
   */
  private async pump(client: Tx, until: number, signal: AbortSignal): Promise<BatchOutcome> {
    const capacity = Math.max(1, this.options.windowSize ?? this.options.batchSize);
    const window = new PublishWindow({
      js: this.deps.js,
      logger: this.deps.logger,
      metrics: this.metrics,
      publishTimeoutMs: this.options.publishTimeoutMs,
    });
    // Rows are probably waiting: the first claim of a round, a full claim, or a NOTIFY since.
    let more = true;
    this.activeWindow = window;
    try {
      for (;;) {
        if (this.connectionLost) throw this.connectionLost;
        const claiming = window.errors.length === 0 && !signal.aborted && Date.now() < until;
        if (this.notified) {
          this.notified = false;
          more = true;
        }
        // Claim once a quarter of the window is free (or it is empty), not for every freed slot.
        const room = capacity - window.size;
        if (claiming && more && (room >= Math.ceil(capacity / 4) || window.size === 0)) {
          const want = Math.min(this.options.batchSize, room);
          const rows = await claimBatch(client, this.partitions.list(), want, window.ids());
          more = rows.length === want;
          window.add(rows);
        }
        // Marks go out in groups (an eighth of the window), or whatever is acked once nothing is
        // in flight: one UPDATE per ack would cost the database a statement and a WAL flush each.
        if (window.unmarked >= Math.ceil(capacity / 8) || (window.unmarked > 0 && window.pending === 0)) {
          const acked = window.takeAcked();
          this.deps.crashPoints?.reach('relay.after-ack');
          await markPublished(client, acked);
          window.release(acked);
        }
        if (window.size === 0 && (!claiming || !more)) break;
        if (window.pending > 0) await window.next();
        else if (!claiming) break;
      }
    } finally {
      this.activeWindow = undefined;
      await window.close();
    }
    const rest = window.takeAcked();
    if (rest.length > 0) {
      this.deps.crashPoints?.reach('relay.after-ack');
      await markPublished(client, rest);
    }
    this.lastBatchSize = window.ackedTotal;
    const errors = window.errors;
    return {
      acked: window.ackedTotal,
      failed: errors.length,
      more: more && errors.length === 0,
      ...(errors.length > 0 ? { error: errors[0] } : {}),
    };
  }

  /** Deletion is idempotent, but one relay is enough: the one holding partition 0. */
  private async maybeCleanup(client: Tx): Promise<void> {
    const now = Date.now();
    if (!this.partitions.has(0) || now - this.lastCleanup < CLEANUP_EVERY_MS) return;
    this.lastCleanup = now;
    const deleted = await deletePublishedRows(client, this.options.retentionMs);
    if (deleted) this.deps.logger.info({ deleted }, 'deleted published outbox rows past retention');
  }
}
