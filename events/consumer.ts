import {
  AckPolicy,
  ConsumerEvents,
  DeliverPolicy,
  nanos,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import { checkoutWorkflowId } from '../domain/order';
import type { Db, Tx } from '../lib/db';
import { withTransaction } from '../lib/db';
import type { Logger } from '../lib/logger';
import { sleep } from '../lib/wait';
import type { EventType } from './catalog';
import { deadLetter, publishDeadLetter } from './dead-letters/publish';
import { countDeadLetters } from './dead-letters/admin';
import { parseEvent, type ParsedEvent, type ParseResult } from './envelope';
import { missingAsUndefined } from './nats-errors';
import { KeyedQueue } from './keyed-queue';
import { noopConsumerMetrics, type ConsumerMetrics, type ConsumerOutcome } from './metrics';
import {
  expiredParked,
  isProcessed,
  lockOrderForConsumer,
  markProcessed,
  missingPredecessors,
  park,
  parkedFor,
  unpark,
  type MessageInfo,
} from './parking';
import { STREAMS, type StreamName } from './streams';
import { markSpanFailed, SpanKind, withMessagingSpan } from './trace-context';

export type { MessageInfo } from './parking';

/** One event of type `T`, narrowed from the catalogue's union. */
export type EventOf<T extends EventType> = Extract<ParsedEvent, { type: T }>;

/** What a handler gets besides the event: the transaction its effects must use, and where the event came from. */
export interface HandlerContext {
  tx: Tx;
  message: MessageInfo;
}

export type HandlerFn<E> = (event: E, ctx: HandlerContext) => Promise<void>;

/**
 * A handler, or a handler with predecessors: `after` lists event types that must already have been
 * applied for the same order; until they are, the event is parked (acknowledged at the source and
 * kept in Postgres) and applied right after the last of them.
 */
export type HandlerSpec<T extends EventType> =
  HandlerFn<EventOf<T>> | { after: readonly EventType[]; handle: HandlerFn<EventOf<T>> };

export type Handlers = { [T in EventType]?: HandlerSpec<T> };

export interface ConsumerOptions {
  /** Durable consumer name: also the owner of its processed marks and `dlq.<name>.<subject>`. */
  name: string;
  stream: StreamName;
  handlers: Handlers;
  /** Subjects to receive; default: the types that have handlers. */
  filterSubjects?: string[];
  /** Handlers running at once; events of one order always run one after another. Default 8. */
  concurrency?: number;
  /** Deliveries before a failing event is dead-lettered. Default 5. */
  maxDeliver?: number;
  /** Redelivery delays after the 1st, 2nd, ... failure; the last repeats. */
  backoffMs?: number[];
  /** How long the server waits for an ack before redelivering. Default 30 s. */
  ackWaitMs?: number;
  /** Unacknowledged messages the server lets this consumer hold: the backpressure bound. Default 256. */
  maxAckPending?: number;
  /** Start at messages stored at or after this time instead of the whole stream (new consumers only). */
  deliverFrom?: Date;
  /** A parked event whose predecessor has not arrived after this long is dead-lettered. Default 1 h. */
  maxParkedMs?: number;
  /** Test and tracing seam: runs after the commit, before the ack. */
  afterCommit?: (event: ParsedEvent, outcome: Outcome) => Promise<void>;
}

export type Outcome = 'applied' | 'duplicate' | 'parked';

/** Counters since start, for logs and metrics. */
export interface ConsumerStats {
  applied: number;
  duplicates: number;
  parked: number;
  unparked: number;
  retried: number;
  deadLettered: number;
  unknownTypes: number;
  unhandledTypes: number;
}

export interface ConsumerDeps {
  nc: NatsConnection;
  db: Db;
  logger: Logger;
  now?: () => Date;
  /** Prometheus (or other) metrics; none by default. See `createConsumerMetrics`. */
  metrics?: ConsumerMetrics;
}

const decoder = new TextDecoder();
const PARK_SWEEP_EVERY_MS = 30_000;

/** Which `stats()` counter each metrics outcome adds to. */
const STAT_OF: Record<ConsumerOutcome, keyof ConsumerStats> = {
  applied: 'applied',
  duplicate: 'duplicates',
  parked: 'parked',
  unparked: 'unparked',
  retried: 'retried',
  dead_lettered: 'deadLettered',
  unknown: 'unknownTypes',
  unhandled: 'unhandledTypes',
};

function headersOf(msg: JsMsg): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (msg.headers) for (const [k, vs] of msg.headers) out[k] = [...vs];
  return out;
}

function infoOf(msg: JsMsg): MessageInfo {
  return {
    subject: msg.subject,
    stream: msg.info.stream,
    streamSequence: msg.info.streamSequence,
    deliveryCount: msg.info.deliveryCount,
    headers: headersOf(msg),
  };
}

function normalise<T extends EventType>(
  spec: HandlerSpec<T>,
): { after: readonly EventType[]; handle: HandlerFn<EventOf<T>> } {
  return typeof spec === 'function' ? { after: [], handle: spec } : spec;
}

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

export class EventConsumer {
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly counters: ConsumerStats = {
    applied: 0,
    duplicates: 0,
    parked: 0,
    unparked: 0,
    retried: 0,
    deadLettered: 0,
    unknownTypes: 0,
    unhandledTypes: 0,
  };
  private readonly maxDeliver: number;
  private readonly backoff: number[];
  private readonly metrics: ConsumerMetrics;
  /** Whether any handler declares predecessors; only then can this consumer have parked events. */
  private readonly mayPark: boolean;

  constructor(
    private readonly deps: ConsumerDeps,
    private readonly options: ConsumerOptions,
  ) {
    this.logger = deps.logger.child({ consumer: options.name, stream: options.stream });
    this.now = deps.now ?? (() => new Date());
    this.metrics = deps.metrics ?? noopConsumerMetrics;
    this.maxDeliver = options.maxDeliver ?? 5;
    this.backoff = options.backoffMs ?? [1_000, 5_000, 15_000, 60_000];
    if (!/^[A-Za-z0-9_-]+$/.test(options.name))
      throw new Error(`consumer name ${options.name} must be letters, digits, - or _`);
    if (!STREAMS.some((s) => s.name === options.stream)) throw new Error(`unknown stream ${options.stream}`);
    this.mayPark = Object.values(options.handlers).some(
      (spec) => normalise(spec as HandlerSpec<EventType>).after.length > 0,
    );
    for (const [type, spec] of Object.entries(options.handlers) as [EventType, HandlerSpec<EventType>][]) {
      for (const before of normalise(spec).after) {
        if (!options.handlers[before])
          throw new Error(`handler for ${type} waits for ${before}, which this consumer does not handle`);
      }
    }
  }

  get name(): string {
    return this.options.name;
  }

  stats(): ConsumerStats {
    return { ...this.counters };
  }

  /** Messages waiting in the stream for this consumer plus those delivered and not yet acknowledged. */
  async pending(): Promise<{ pending: number; ackPending: number }> {
    const jsm = await this.deps.nc.jetstreamManager();
    const info = await jsm.consumers.info(this.options.stream, this.options.name);
    return { pending: info.num_pending, ackPending: info.num_ack_pending };
  }

  /** Dead letters of this consumer's name waiting in the DLQ stream. */
  async deadLetters(): Promise<number> {
    return countDeadLetters(await this.deps.nc.jetstreamManager(), this.options.name);
  }

  /** Counts a settled message in `stats()` and the metrics; `msg` and `startedAt` time a delivery. */
  private count(outcome: ConsumerOutcome, delivery?: { msg: JsMsg; startedAt: number }): void {
    this.counters[STAT_OF[outcome]] += 1;
    const labels = { consumer: this.options.name, stream: this.options.stream };
    if (!delivery) {
      this.metrics.settled(labels, outcome);
      return;
    }
    const seconds = (performance.now() - delivery.startedAt) / 1000;
    const ageSeconds = (this.now().getTime() - delivery.msg.info.timestampNanos / 1e6) / 1000;
    this.metrics.settled(labels, outcome, { seconds, ageSeconds });
  }

  /** Consumes until `signal` aborts, then stops pulling, finishes in-flight handlers and returns. */
  async run(signal: AbortSignal): Promise<void> {
    let backoffMs = 500;
    const unwatch = this.metrics.watch({
      consumer: this.options.name,
      stream: this.options.stream,
      pending: () => this.pending(),
      deadLetters: () => this.deadLetters(),
    });
    try {
      while (!signal.aborted) {
        try {
          await this.consumeOnce(signal);
          backoffMs = 500;
        } catch (err) {
          this.logger.warn({ err, retryInMs: backoffMs }, 'consumer loop failed; restarting');
        }
        if (!signal.aborted) {
          await sleep(backoffMs, signal);
          backoffMs = Math.min(backoffMs * 2, 10_000);
        }
      }
    } finally {
      unwatch();
    }
    this.logger.info({ stats: this.stats() }, 'consumer stopped');
  }

  private consumerConfig(): Partial<ConsumerConfig> & { durable_name: string } {
    const o = this.options;
    const subjects = o.filterSubjects ?? Object.keys(o.handlers);
    return {
      durable_name: o.name,
      ack_policy: AckPolicy.Explicit,
      ...(o.deliverFrom
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: o.deliverFrom.toISOString() }
        : { deliver_policy: DeliverPolicy.All }),
      filter_subjects: subjects,
      // Dead-lettering is decided here, after our own count, so the server never drops silently.
      max_deliver: -1,
      ack_wait: nanos(o.ackWaitMs ?? 30_000),
      max_ack_pending: o.maxAckPending ?? 256,
    };
  }

  /** Creates the durable consumer, or brings an existing one to the declared configuration. */
  private async ensureConsumer(jsm: JetStreamManager): Promise<void> {
    const config = this.consumerConfig();
    const existing = await missingAsUndefined(jsm.consumers.info(this.options.stream, this.options.name));
    if (!existing) {
      await jsm.consumers.add(this.options.stream, config);
      return;
    }
    // Deliver policy and start time cannot change on a durable; everything else is updated.
    const { deliver_policy: _policy, opt_start_time: _start, ...updatable } = config;
    await jsm.consumers.update(this.options.stream, this.options.name, updatable);
  }

  private async consumeOnce(signal: AbortSignal): Promise<void> {
    const jsm = await this.deps.nc.jetstreamManager();
    await this.ensureConsumer(jsm);
    const consumer = await this.deps.nc.jetstream().consumers.get(this.options.stream, this.options.name);
    const messages = await consumer.consume({
      max_messages: Math.min(this.options.maxAckPending ?? 256, 100),
      idle_heartbeat: 5_000,
    });
    const stop = () => {
      void messages.close();
    };
    signal.addEventListener('abort', stop, { once: true });
    // Aborted while the consumer was being set up: no abort event will come, so stop now (the
    // loop below then ends at once) instead of consuming until the grace period kills the process.
    if (signal.aborted) stop();
    const queue = new KeyedQueue(this.options.concurrency ?? 8);
    const watching = this.watchStatus(messages, jsm);
    const sweeping = this.sweepParked(signal, messages);
    try {
      for await (const msg of messages) {
        // Parsed once here: the result gives the per-order key and is what the handler step uses.
        const body = decoder.decode(msg.data);
        const parsed = parseEvent(body);
        queue.push(
          parsed.ok ? parsed.event.subject : `${msg.subject}#${msg.info.streamSequence}`,
          () => this.handle(msg, body, parsed),
          (err) => {
            // Settling failed (NATS unreachable): the server redelivers after ack_wait.
            this.logger.error(
              { err, subject: msg.subject, seq: msg.info.streamSequence },
              'could not settle message; it will be redelivered',
            );
          },
        );
      }
    } finally {
      signal.removeEventListener('abort', stop);
      await messages.close();
      await queue.idle();
      await Promise.all([watching, sweeping]);
    }
    if (!signal.aborted) throw new Error('message stream ended unexpectedly');
  }

  private async watchStatus(messages: ConsumerMessages, jsm: JetStreamManager): Promise<void> {
    for await (const status of await messages.status()) {
      switch (status.type) {
        case ConsumerEvents.HeartbeatsMissed:
          this.logger.warn({ missed: status.data }, 'JetStream heartbeats missed; re-pulling');
          break;
        case ConsumerEvents.ConsumerDeleted:
        case ConsumerEvents.ConsumerNotFound:
          this.logger.warn({ status: status.type }, 'durable consumer missing; recreating it');
          await this.ensureConsumer(jsm).catch((err: unknown) =>
            this.logger.warn({ err }, 'could not recreate consumer yet'),
          );
          break;
        case ConsumerEvents.StreamNotFound:
        case ConsumerEvents.NoResponders:
          this.logger.warn({ status: status.type, data: status.data }, 'JetStream unavailable; waiting');
          break;
        default:
          break;
      }
    }
  }

  /** Periodically dead-letters parked events whose predecessor never came. */
  private async sweepParked(signal: AbortSignal, messages: ConsumerMessages): Promise<void> {
    const maxParkedMs = this.options.maxParkedMs ?? 3_600_000;
    const closed = new AbortController();
    void messages.closed().finally(() => closed.abort());
    const either = AbortSignal.any([signal, closed.signal]);
    while (!either.aborted) {
      await sleep(Math.min(PARK_SWEEP_EVERY_MS, maxParkedMs), either);
      if (either.aborted) break;
      try {
        await this.expireParked(maxParkedMs);
      } catch (err) {
        this.logger.warn({ err }, 'could not sweep parked events; will retry');
      }
    }
  }

  /** Dead-letters parked events older than `maxParkedMs`; returns how many. */
  async expireParked(maxParkedMs: number): Promise<number> {
    const js = this.deps.nc.jetstream();
    return withTransaction(this.deps.db, async (tx) => {
      const expired = await expiredParked(tx, this.options.name, maxParkedMs, 100);
      for (const p of expired) {
        const reason = `parked ${Math.round((this.now().getTime() - p.parkedAt.getTime()) / 1000)}s waiting for ${p.waitingFor.join(', ')} of order ${p.orderId}`;
        await publishDeadLetter(
          js,
          {
            consumer: this.options.name,
            subject: p.info.subject,
            data: new TextEncoder().encode(p.body),
            headers: Object.entries(p.info.headers),
            deliveryCount: p.info.deliveryCount,
            stream: p.info.stream,
            streamSequence: p.info.streamSequence,
          },
          reason,
          this.now(),
        );
        await unpark(tx, this.options.name, p.eventId);
        this.count('dead_lettered');
        this.logger.warn(
          { eventId: p.eventId, orderId: p.orderId, type: p.eventType, reason },
          'parked event dead-lettered',
        );
      }
      return expired.length;
    });
  }

  private async deadLetter(msg: JsMsg, reason: string, startedAt: number): Promise<void> {
    await deadLetter(this.deps.nc.jetstream(), msg, this.options.name, reason, this.now());
    this.count('dead_lettered', { msg, startedAt });
    this.logger.warn(
      { subject: msg.subject, seq: msg.info.streamSequence, deliveries: msg.info.deliveryCount, reason },
      'event dead-lettered',
    );
  }

  /**
   * Settles one message in a CONSUMER span, child of the relay's publish span (the `traceparent`
   * header; the envelope's when a publisher sent none), with the handler's database work inside.
   */
  private handle(msg: JsMsg, body: string, parsed: ParseResult): Promise<void> {
    const traceparent = msg.headers?.get('traceparent') || (parsed.ok ? parsed.event.traceparent : undefined);
    const attributes = {
      'messaging.system': 'nats',
      'messaging.operation.type': 'process',
      'messaging.destination.name': msg.subject,
      'messaging.consumer.group.name': this.options.name,
      'messaging.message.delivery_count': msg.info.deliveryCount,
      ...(parsed.ok ? { 'messaging.message.id': parsed.event.id, 'checkout.order_id': parsed.event.subject } : {}),
    };
    return withMessagingSpan(`process ${msg.subject}`, SpanKind.CONSUMER, traceparent, attributes, () =>
      this.settle(msg, body, parsed),
    );
  }

  /** Settles one message; events that do not parse (dead-lettered or skipped) run on a key of their own. */
  private async settle(msg: JsMsg, body: string, parsed: ParseResult): Promise<void> {
    const delivery = { msg, startedAt: performance.now() };
    if (!parsed.ok) {
      if (parsed.reason === 'unknown-type') {
        this.logger.info({ type: parsed.type, dataversion: parsed.dataversion }, 'skipping unknown event type');
        await msg.ackAck();
        this.count('unknown', delivery);
        return;
      }
      await this.deadLetter(msg, `${parsed.reason}: ${parsed.message}`, delivery.startedAt);
      return;
    }
    const event = parsed.event;
    const spec = this.options.handlers[event.type] as HandlerSpec<EventType> | undefined;
    if (!spec) {
      await msg.ackAck();
      this.count('unhandled', delivery);
      return;
    }
    const log = {
      eventId: event.id,
      orderId: event.subject,
      workflowId: checkoutWorkflowId(event.subject),
      type: event.type,
    };
    try {
      const info = infoOf(msg);
      const outcome = await withTransaction(this.deps.db, (tx) => this.apply(tx, event, normalise(spec), body, info));
      await this.options.afterCommit?.(event, outcome);
      await msg.ackAck();
      this.count(outcome, delivery);
      this.logger.debug({ ...log, outcome }, `event ${outcome}`);
    } catch (err) {
      markSpanFailed(err);
      const deliveries = msg.info.deliveryCount;
      if (deliveries >= this.maxDeliver) {
        await this.deadLetter(msg, err instanceof Error ? err.message : String(err), delivery.startedAt);
        return;
      }
      const delay = this.backoff[Math.min(deliveries - 1, this.backoff.length - 1)] ?? 1_000;
      this.logger.warn({ err, ...log, deliveries, retryInMs: delay }, 'event handling failed; will retry');
      msg.nak(delay);
      this.count('retried', delivery);
    }
  }

  private async apply(
    tx: Tx,
    event: ParsedEvent,
    spec: { after: readonly EventType[]; handle: HandlerFn<EventOf<EventType>> },
    body: string,
    info: MessageInfo,
  ): Promise<Outcome> {
    const name = this.options.name;
    await lockOrderForConsumer(tx, name, event.subject);
    if (await isProcessed(tx, name, event.id)) return 'duplicate';
    const missing = await missingPredecessors(tx, name, event.subject, spec.after);
    if (missing.length > 0) {
      await park(tx, name, event, missing, body, info);
      this.logger.info(
        { eventId: event.id, orderId: event.subject, type: event.type, waitingFor: missing },
        'event parked until its predecessor is applied',
      );
      return 'parked';
    }
    await markProcessed(tx, name, event);
    await spec.handle(event as EventOf<EventType>, { tx, message: info });
    // Without predecessors nothing is ever parked, so skip the per-event lookup (a round trip each).
    if (this.mayPark) await this.applyParked(tx, event.subject);
    return 'applied';
  }

  /** Applies, in this transaction, every parked event of the order whose predecessors are now all applied. */
  private async applyParked(tx: Tx, orderId: string): Promise<void> {
    const name = this.options.name;
    let progress = true;
    while (progress) {
      progress = false;
      for (const p of await parkedFor(tx, name, orderId)) {
        if ((await missingPredecessors(tx, name, orderId, p.waitingFor)).length > 0) continue;
        const parsed = parseEvent(p.body);
        if (!parsed.ok) throw new Error(`parked event ${p.eventId} no longer parses: ${parsed.message}`);
        const spec = this.options.handlers[parsed.event.type] as HandlerSpec<EventType> | undefined;
        await unpark(tx, name, p.eventId);
        if (spec && !(await isProcessed(tx, name, p.eventId))) {
          const { after, handle } = normalise(spec);
          const stillMissing = await missingPredecessors(tx, name, orderId, after);
          if (stillMissing.length > 0) {
            await park(tx, name, parsed.event, stillMissing, p.body, p.info);
            continue;
          }
          await markProcessed(tx, name, parsed.event);
          await handle(parsed.event as EventOf<EventType>, { tx, message: p.info });
          this.count('unparked');
          this.logger.info({ eventId: p.eventId, orderId, type: p.eventType }, 'parked event applied');
        }
        progress = true;
      }
    }
  }
}
