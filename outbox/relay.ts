import { headers as natsHeaders, type JetStreamClient } from 'nats';
import type { Db, Tx } from '../lib/db';
import type { Logger } from '../lib/logger';
import { sleep, Wakeup } from '../lib/wait';
import { OUTBOX_CHANNEL } from './append';

export interface RelayOptions {
  batchSize: number;
  pollIntervalMs: number;
  publishTimeoutMs: number;
  /** Published rows older than this are deleted. */
  retentionMs: number;
}

interface OutboxRow {
  id: string;
  event_id: string;
  subject: string;
  partition_key: string;
  body: string;
  headers: Record<string, string>;
}

/** Advisory-lock key held by the active relay; other relay processes wait as standbys. */
export const RELAY_LOCK_KEY = 0x6f75_7462;
const CLEANUP_EVERY_MS = 60_000;
const encoder = new TextEncoder();

/**
 * Publishes committed outbox rows to JetStream and marks them published only after the ack.
 *
 * - One relay is active at a time (Postgres advisory lock on a dedicated connection, which also
 *   runs every relay query, so losing the connection stops publishing); others stand by.
 * - Rows are read as "unpublished, in id order", never "id > last seen", so a row whose
 *   transaction commits late is still picked up.
 * - Within a batch, rows of different orders publish concurrently; rows of one order publish one
 *   after another, each waiting for its ack, so an order's events keep their commit order even
 *   when a publish fails midway.
 * - JetStream drops a republished row by its `Nats-Msg-Id` (the event id), so a crash between
 *   the ack and the UPDATE only costs a duplicate that is discarded.
 *
 * @example
 * await new OutboxRelay({ db, js, logger }, options).run(signal);
 */
export class OutboxRelay {
  private readonly wakeup = new Wakeup();
  private lastCleanup = 0;

  constructor(
    private readonly deps: { db: Db; js: JetStreamClient; logger: Logger },
    private readonly options: RelayOptions,
  ) {}

  /** Runs until `signal` aborts; the batch in flight finishes first. */
  async run(signal: AbortSignal): Promise<void> {
    let backoffMs = 100;
    while (!signal.aborted) {
      let client: Tx | undefined;
      let broken: Error | undefined;
      try {
        client = await this.deps.db.connect();
        const leader = client;
        leader.on('notification', () => this.wakeup.wake());
        if (!(await this.becomeLeader(leader, signal))) break;
        await leader.query(`LISTEN ${OUTBOX_CHANNEL}`);
        this.deps.logger.info('outbox relay active');
        while (!signal.aborted) {
          const published = await this.publishBatch(leader);
          backoffMs = 100;
          await this.maybeCleanup(leader);
          if (published < this.options.batchSize) await this.wakeup.wait(this.options.pollIntervalMs, signal);
        }
      } catch (err) {
        broken = err as Error;
        this.deps.logger.warn({ err, retryInMs: backoffMs }, 'outbox relay error; retrying');
        await sleep(backoffMs, signal);
        backoffMs = Math.min(backoffMs * 2, 5_000);
      } finally {
        if (client) {
          client.removeAllListeners('notification');
          // Releasing with an error destroys the connection, which also drops the advisory lock.
          client.release(broken ?? true);
        }
      }
    }
    this.deps.logger.info('outbox relay stopped');
  }

  private async becomeLeader(client: Tx, signal: AbortSignal): Promise<boolean> {
    let announced = false;
    while (!signal.aborted) {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [RELAY_LOCK_KEY]);
      if (rows[0]?.ok) return true;
      if (!announced) {
        this.deps.logger.info('another outbox relay is active; standing by');
        announced = true;
      }
      await sleep(this.options.pollIntervalMs, signal);
    }
    return false;
  }

  /** Publishes up to one batch; returns how many rows were published. Throws after marking what was acked. */
  async publishBatch(client: Tx): Promise<number> {
    const { rows } = await client.query<OutboxRow>(
      `SELECT id, event_id, subject, partition_key, envelope::text AS body, headers
       FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1`,
      [this.options.batchSize],
    );
    if (rows.length === 0) return 0;
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
          try {
            await this.publish(row);
            acked.push(row.id);
          } catch (err) {
            errors.push(err);
            return;
          }
        }
      }),
    );
    if (acked.length > 0) {
      await client.query('UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])', [acked]);
    }
    if (errors.length > 0) throw errors[0];
    return acked.length;
  }

  private async publish(row: OutboxRow): Promise<void> {
    const h = natsHeaders();
    h.set('Content-Type', 'application/cloudevents+json');
    for (const [k, v] of Object.entries(row.headers)) h.set(k, v);
    await this.deps.js.publish(row.subject, encoder.encode(row.body), {
      msgID: row.event_id,
      headers: h,
      timeout: this.options.publishTimeoutMs,
    });
  }

  private async maybeCleanup(client: Tx): Promise<void> {
    const now = Date.now();
    if (now - this.lastCleanup < CLEANUP_EVERY_MS) return;
    this.lastCleanup = now;
    const { rowCount } = await client.query(
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE published_at < now() - make_interval(secs => $1) LIMIT 10000)`,
      [this.options.retentionMs / 1000],
    );
    if (rowCount) this.deps.logger.info({ deleted: rowCount }, 'deleted published outbox rows past retention');
  }
}
