import { countDeadLetters } from '../dead-letters/admin';
import { expireParked } from './expiry';
import { runPullLoop } from './pull-loop';
import { createRuntime, type ConsumerRuntime } from './runtime';
import type { ConsumerDeps, ConsumerOptions, ConsumerStats } from './types';

export type {
  ConsumerDeps,
  ConsumerLogger,
  ConsumerOptions,
  ConsumerStats,
  EventOf,
  HandlerContext,
  HandlerFn,
  HandlerSpec,
  Handlers,
  MessageInfo,
  Outcome,
} from './types';
export { migrateConsumerKit, CONSUMER_KIT_SCHEMA } from './migrate';
export { DEFAULT_MARK_RETENTION_MS, sweepProcessedMarks } from './mark-retention';
export { withTransaction, type Db, type Tx } from './transaction';
export { declareDurable, type DurableConfig } from './durable';

/**
 * A durable, idempotent JetStream pull consumer: the kit other teams use.
 *
 * - Exactly one effect per event: the handler's effects and the (consumer, event id) mark commit
 *   in one Postgres transaction; the message is acknowledged (double ack) only after the commit;
 *   a redelivered or republished duplicate is acknowledged with no second effect.
 * - Per-order serial, bounded concurrency: events of one order (the CloudEvents `subject`) are
 *   handled one after another; up to `concurrency` orders in parallel; the server holds back
 *   beyond `maxAckPending` unacknowledged messages.
 * - Failures are retried with backoff (`nak(delay)`); after `maxDeliver` deliveries, or at once
 *   for an event that fails its schema, the message goes to `dlq.<consumer>.<subject>` and is
 *   terminated at the source. Unknown event types are acknowledged and counted.
 * - Out of order: an event whose handler declares `after` predecessors is parked until they are
 *   applied for the same order.
 * - Survives NATS restarts: pulls use idle heartbeats; the consumer's status is watched and a
 *   deleted consumer is recreated; if the message loop ends unexpectedly it is restarted.
 * - `run(signal)` returns after abort once pulling stopped and in-flight handlers finished.
 *
 * Its tables are created by `migrateConsumerKit(db)`.
 *
 * @example
 * const consumer = createConsumer({ nc, db, logger }, {
 *   name: 'order-read-model',
 *   stream: 'CHECKOUT',
 *   handlers: {
 *     'checkout.order.placed': async (event, { tx }) => { await tx.query('INSERT ...', [event.data.orderId]); },
 *     'checkout.order.completed': { after: ['checkout.order.placed'], handle: async (event, { tx }) => { await tx.query('UPDATE ...'); } },
 *   },
 * });
 * await consumer.run(signal);
 */
export function createConsumer(deps: ConsumerDeps, options: ConsumerOptions): EventConsumer {
  return new EventConsumer(deps, options);
}

// The parts, one job per file: pull-loop.ts (consume, watch status, restart), settle.ts (ack, nak
// with backoff, dead letter), apply.ts (the transaction: inbox.ts marks and lock, parking.ts),
// expiry.ts (parked events that waited too long), tally.ts (stats and metrics).
export class EventConsumer {
  private readonly rt: ConsumerRuntime;

  constructor(deps: ConsumerDeps, options: ConsumerOptions) {
    this.rt = createRuntime(deps, options);
  }

  get name(): string {
    return this.rt.settings.name;
  }

  stats(): ConsumerStats {
    return this.rt.tally.stats();
  }

  /** Messages waiting in the stream for this consumer plus those delivered and not yet acknowledged. */
  async pending(): Promise<{ pending: number; ackPending: number }> {
    const jsm = await this.rt.nc.jetstreamManager();
    const info = await jsm.consumers.info(this.rt.settings.stream, this.rt.settings.name);
    return { pending: info.num_pending, ackPending: info.num_ack_pending };
  }

  /** Dead letters of this consumer's name waiting in the DLQ stream. */
  async deadLetters(): Promise<number> {
    return countDeadLetters(await this.rt.nc.jetstreamManager(), this.rt.settings.name);
  }

  /** Consumes until `signal` aborts, then stops pulling, finishes in-flight handlers and returns. */
  async run(signal: AbortSignal): Promise<void> {
    const unwatch = this.rt.metrics.watch({
      consumer: this.rt.settings.name,
      stream: this.rt.settings.stream,
      pending: () => this.pending(),
      deadLetters: () => this.deadLetters(),
    });
    try {
      await runPullLoop(this.rt, signal);
    } finally {
      unwatch();
    }
    this.rt.logger.info({ stats: this.stats() }, 'consumer stopped');
  }

  /** Dead-letters parked events older than `maxParkedMs`; returns how many. */
  expireParked(maxParkedMs: number): Promise<number> {
    return expireParked(this.rt, maxParkedMs);
  }
}
