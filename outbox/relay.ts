import { headers as natsHeaders, type JetStreamClient } from 'nats';
import { checkoutWorkflowId } from '../domain/order';
import { SpanKind, withMessagingSpan } from '../events/trace-context';
import type { Db, Tx } from '../lib/db';
import type { Logger } from '../lib/logger';
import { sleep, Wakeup } from '../lib/wait';
import { OUTBOX_CHANNEL } from './append';
import { noopRelayMetrics, type RelayMetrics } from './metrics';

export interface RelayOptions {
  batchSize: number;
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
  /** Rows acked and marked published by the last batch. */
  lastBatchSize: number;
}

interface OutboxRow {
  id: string;
  event_id: string;
  subject: string;
  partition_key: string;
  body: string;
  headers: Record<string, string>;
  created_at: Date;
}

interface BatchOutcome {
  acked: number;
  failed: number;
  /** The first publish failure, if any; database failures are thrown instead. */
  error?: unknown;
}

/**
 * Number of outbox partitions. It must equal the modulus of `outbox.partition` in
 * db/migrations/0002_outbox_partitions.sql, and like it never changes with relays running.
 */
export const OUTBOX_PARTITIONS = 64;

/**
 * Advisory locks of the relays (two-int form, so they never collide with the one-bigint locks
 * used elsewhere). Every relay holds `member` shared, which is how relays count each other, and
 * each partition it publishes as `(partitionSpace, partition)` exclusively. They are two
 * namespaces because one would make partition 0 the member key.
 *
 * @example
 * await client.query('SELECT pg_try_advisory_lock($1, $2)', [RELAY_LOCKS.partitionSpace, 7]);
 */
export const RELAY_LOCKS = {
  member: [0x6f75_746d, 0] as const,
  partitionSpace: 0x6f75_7470,
};

const CLEANUP_EVERY_MS = 60_000;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5_000;
/**
 * Server-side keepalives for the relay's session. Without them a relay whose host vanishes (no
 * FIN, no RST) keeps its partitions until the kernel default gives up, about two hours.
 */
const SESSION_SETTINGS = 'SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3';
const encoder = new TextEncoder();

const LOCKS_IN_THIS_DB = `locktype = 'advisory' AND objsubid = 2
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

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
 *   relay's partitions are picked up by the others within about one rebalance interval.
 * - Rows are read as "unpublished, in id order", never "id > last seen", so a row whose
 *   transaction commits late is still picked up.
 * - Within a batch, rows of different orders publish concurrently; rows of one order publish one
 *   after another, each waiting for its ack, so an order's events keep their commit order even
 *   when a publish fails midway.
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
  private readonly owned = new Set<number>();
  private members = 0;
  private lastBatchSize = 0;
  private lastCleanup = 0;
  private dbBackoffMs = BACKOFF_MIN_MS;
  private publishBackoffMs = 0;
  private failedAttempts = 0;
  private connectionLost: Error | undefined;
  private readonly metrics: RelayMetrics;

  constructor(
    private readonly deps: { db: Db; js: Pick<JetStreamClient, 'publish'>; logger: Logger; metrics?: RelayMetrics },
    private readonly options: RelayOptions,
  ) {
    this.metrics = deps.metrics ?? noopRelayMetrics;
  }

  /**
   * A snapshot of what this relay owns and did last.
   *
   * @example
   * const { ownedPartitions, members, lastBatchSize } = relay.status();
   */
  status(): RelayStatus {
    return {
      ownedPartitions: [...this.owned].sort((a, b) => a - b),
      members: this.members,
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
        });
        client.on('notification', () => this.wakeup.wake());
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
        this.forgetOwnership(broken ? 'database error' : 'stopping');
      }
      if (broken) {
        await sleep(this.dbBackoffMs, signal);
        this.dbBackoffMs = Math.min(this.dbBackoffMs * 2, BACKOFF_MAX_MS);
      }
    }
  }

  private async session(client: Tx, signal: AbortSignal): Promise<void> {
    await client.query(SESSION_SETTINGS);
    const { rows } = await client.query<{ pid: number }>(
      'SELECT pg_backend_pid() AS pid, pg_advisory_lock_shared($1, $2)',
      [...RELAY_LOCKS.member],
    );
    await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    // The backend pid ties this process to its locks in pg_locks.
    this.deps.logger.info({ backendPid: rows[0]?.pid }, 'outbox relay joined');
    let nextRebalance = 0;
    let resumeAt = 0;
    while (!signal.aborted) {
      if (this.connectionLost) throw this.connectionLost;
      if (Date.now() >= nextRebalance) {
        await this.rebalance(client);
        nextRebalance = Date.now() + this.options.rebalanceIntervalMs;
      }
      const now = Date.now();
      if (this.owned.size === 0 || now < resumeAt) {
        // Nothing to publish until the next rebalance or the end of a publish backoff; NOTIFYs are
        // ignored here on purpose, or a busy outbox would turn the backoff into a busy loop.
        const until = this.owned.size === 0 ? nextRebalance : Math.min(nextRebalance, resumeAt);
        await sleep(Math.max(0, until - now), signal);
        continue;
      }
      const outcome = await this.publishBatch(client);
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
      if (outcome.acked < this.options.batchSize) {
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

  /** Recounts the members, then gives back partitions above this relay's share or takes free ones up to it. */
  private async rebalance(client: Tx): Promise<void> {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks
       WHERE ${LOCKS_IN_THIS_DB} AND classid = $1::oid AND objid = $2::oid AND granted`,
      [...RELAY_LOCKS.member],
    );
    const members = Math.max(rows[0]?.n ?? 1, 1);
    const share = Math.ceil(OUTBOX_PARTITIONS / members);
    const released: number[] = [];
    const acquired: number[] = [];
    if (this.owned.size > share) {
      const extras = [...this.owned].sort((a, b) => b - a).slice(0, this.owned.size - share);
      await client.query('SELECT pg_advisory_unlock($1, p) FROM unnest($2::int[]) AS p', [
        RELAY_LOCKS.partitionSpace,
        extras,
      ]);
      for (const p of extras) this.owned.delete(p);
      released.push(...extras);
    } else if (this.owned.size < share) {
      const { rows: free } = await client.query<{ p: number }>(
        `SELECT p FROM generate_series(0, $2::int - 1) AS p
         WHERE NOT EXISTS (SELECT 1 FROM pg_locks WHERE ${LOCKS_IN_THIS_DB} AND classid = $1::oid AND objid = p::oid)
         ORDER BY random()`,
        [RELAY_LOCKS.partitionSpace, OUTBOX_PARTITIONS],
      );
      // Random order, so relays starting together mostly try different partitions; a partition
      // taken by someone else in the meantime just fails its try-lock and the next one is tried.
      const candidates = free.map((r) => r.p);
      while (this.owned.size < share && candidates.length > 0) {
        const attempt = candidates.splice(0, share - this.owned.size);
        const { rows: tried } = await client.query<{ p: number; ok: boolean }>(
          'SELECT p, pg_try_advisory_lock($1, p) AS ok FROM unnest($2::int[]) AS p',
          [RELAY_LOCKS.partitionSpace, attempt],
        );
        for (const t of tried) {
          if (!t.ok) continue;
          this.owned.add(t.p);
          acquired.push(t.p);
        }
      }
    }
    if (members !== this.members || released.length > 0 || acquired.length > 0) {
      this.deps.logger.info(
        {
          members,
          share,
          owned: this.owned.size,
          acquired: acquired.sort((a, b) => a - b),
          released: released.sort((a, b) => a - b),
        },
        'outbox relay partitions changed',
      );
    }
    this.members = members;
  }

  private forgetOwnership(reason: string): void {
    if (this.owned.size > 0) {
      this.deps.logger.info(
        { released: this.status().ownedPartitions, reason },
        'outbox relay released all its partitions',
      );
    }
    this.owned.clear();
    this.members = 0;
  }

  /**
   * Publishes up to one batch of the owned partitions and marks what was acked. A publish failure
   * is returned (it is not a database problem); a database failure is thrown.
   */
  private async publishBatch(client: Tx): Promise<BatchOutcome> {
    // Per partition, the oldest unpublished rows through (partition, id), then the oldest of
    // those: the cost is bounded by partitions x batch, however large a backlog has grown.
    const { rows } = await client.query<OutboxRow>(
      `SELECT o.id, o.event_id, o.subject, o.partition_key, o.envelope::text AS body, o.headers, o.created_at
       FROM unnest($1::smallint[]) AS owned(p)
       CROSS JOIN LATERAL (
         SELECT id, event_id, subject, partition_key, envelope, headers, created_at FROM outbox
         WHERE published_at IS NULL AND partition = owned.p
         ORDER BY id LIMIT $2) AS o
       ORDER BY o.id LIMIT $2`,
      [[...this.owned], this.options.batchSize],
    );
    if (rows.length === 0) {
      this.lastBatchSize = 0;
      return { acked: 0, failed: 0 };
    }
    const byOrder = new Map<string, OutboxRow[]>();
    for (const row of rows) {
      const group = byOrder.get(row.partition_key);
      if (group) group.push(row);
      else byOrder.set(row.partition_key, [row]);
    }
    const errors: unknown[] = [];
    const acked: string[] = [];
    await Promise.all(
      [...byOrder.values()].map(async (group) => {
        for (const row of group) {
          const startedAt = performance.now();
          try {
            await this.publish(row);
            acked.push(row.id);
            this.metrics.published((performance.now() - startedAt) / 1000, row.created_at);
          } catch (err) {
            // The rest of this order waits for the next attempt: publishing past a failed event
            // would put its successors in the stream ahead of it.
            errors.push(err);
            this.metrics.publishFailed(err);
            return;
          }
        }
      }),
    );
    if (acked.length > 0) {
      await client.query(
        'UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[]) AND published_at IS NULL',
        [acked],
      );
    }
    this.lastBatchSize = acked.length;
    return errors.length > 0
      ? { acked: acked.length, failed: errors.length, error: errors[0] }
      : { acked: acked.length, failed: 0 };
  }

  /**
   * Publishes one row in a PRODUCER span whose parent is the transaction that wrote the row (its
   * stored `traceparent`); the message's `traceparent` header names this span, so a consumer's
   * span hangs under the publish. The envelope keeps the writer's `traceparent`.
   */
  private async publish(row: OutboxRow): Promise<void> {
    const attributes = {
      'messaging.system': 'nats',
      'messaging.operation.type': 'send',
      'messaging.destination.name': row.subject,
      'messaging.message.id': row.event_id,
      'checkout.order_id': row.partition_key,
    };
    await withMessagingSpan(
      `publish ${row.subject}`,
      SpanKind.PRODUCER,
      row.headers.traceparent,
      attributes,
      async (traceparent) => {
        const h = natsHeaders();
        h.set('Content-Type', 'application/cloudevents+json');
        for (const [k, v] of Object.entries(row.headers)) h.set(k, v);
        if (traceparent) h.set('traceparent', traceparent);
        const ack = await this.deps.js.publish(row.subject, encoder.encode(row.body), {
          msgID: row.event_id,
          headers: h,
          timeout: this.options.publishTimeoutMs,
        });
        // Guarded: building this line for every published row costs a hot path when debug is off.
        if (this.deps.logger.isLevelEnabled('debug'))
          this.deps.logger.debug(
            {
              eventId: row.event_id,
              orderId: row.partition_key,
              workflowId: checkoutWorkflowId(row.partition_key),
              type: row.subject,
              seq: ack.seq,
              duplicate: ack.duplicate,
            },
            'event published',
          );
      },
    );
  }

  /** Deletion is idempotent, but one relay is enough: the one holding partition 0. */
  private async maybeCleanup(client: Tx): Promise<void> {
    const now = Date.now();
    if (!this.owned.has(0) || now - this.lastCleanup < CLEANUP_EVERY_MS) return;
    this.lastCleanup = now;
    const { rowCount } = await client.query(
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE published_at < now() - make_interval(secs => $1) LIMIT 10000)`,
      [this.options.retentionMs / 1000],
    );
    if (rowCount) this.deps.logger.info({ deleted: rowCount }, 'deleted published outbox rows past retention');
  }
}
