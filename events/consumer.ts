import { AckPolicy, DeliverPolicy, headers as natsHeaders, nanos, type JsMsg, type NatsConnection } from 'nats';
import type { Db, Tx } from '../lib/db';
import { withTransaction } from '../lib/db';
import type { Logger } from '../lib/logger';
import { parseEvent, type ParsedEvent } from './envelope';
import { missingAsUndefined } from './jetstream-errors';
import type { StreamName } from './streams';

/** Context a handler gets: the transaction its effects must use, and the raw message. */
export interface HandlerContext {
  tx: Tx;
  msg: JsMsg;
}

/** Applies one event's effects inside `ctx.tx`; throw to have the event retried. */
export type EventHandler = (event: ParsedEvent, ctx: HandlerContext) => Promise<void>;

export interface ConsumerOptions {
  /** Durable consumer name; also the second token of its dead-letter subjects. */
  name: string;
  stream: StreamName;
  filterSubjects: string[];
  /** Deliveries before a failing event is dead-lettered. */
  maxDeliver?: number;
  /** Redelivery delays after the 1st, 2nd, ... failure; the last repeats. */
  backoffMs?: number[];
  ackWaitMs?: number;
  maxAckPending?: number;
  /** Start from messages stored at or after this time instead of the whole stream (new consumers only). */
  deliverFrom?: Date;
}

const decoder = new TextDecoder();

/** Header names on a dead letter, so another team's tooling can read why it is there. */
export const DLQ_HEADERS = {
  consumer: 'Dlq-Consumer',
  error: 'Dlq-Error',
  deliveryCount: 'Dlq-Delivery-Count',
  stream: 'Dlq-Stream',
  streamSequence: 'Dlq-Stream-Sequence',
  subject: 'Dlq-Original-Subject',
} as const;

/**
 * Runs a durable, idempotent JetStream consumer until `signal` aborts, then finishes the message
 * in hand and stops. For each event: the handler's effects and the (consumer, event id)
 * "processed" mark commit in one Postgres transaction, and the message is acknowledged (with
 * the server's confirmation) only after that commit; a redelivered or republished duplicate
 * finds the mark, is acknowledged, and has no second effect. A failing event is retried with
 * backoff, then dead-lettered to `dlq.<consumer>.<subject>`; an event that fails its schema goes
 * there at once. Unknown event types are acknowledged and skipped (forward compatibility).
 *
 * @example
 * await runConsumer({ nc, db, logger }, { name: 'audit', stream: 'CHECKOUT', filterSubjects: ['checkout.>'] },
 *   async (event, { tx }) => { await tx.query('INSERT ...'); }, signal);
 */
export async function runConsumer(
  deps: { nc: NatsConnection; db: Db; logger: Logger },
  options: ConsumerOptions,
  handler: EventHandler,
  signal: AbortSignal,
): Promise<void> {
  const { nc, db } = deps;
  const logger = deps.logger.child({ consumer: options.name, stream: options.stream });
  const maxDeliver = options.maxDeliver ?? 5;
  const backoff = options.backoffMs ?? [1_000, 5_000, 15_000, 60_000];
  const jsm = await nc.jetstreamManager();
  const config = {
    durable_name: options.name,
    ack_policy: AckPolicy.Explicit,
    ...(options.deliverFrom
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: options.deliverFrom.toISOString() }
      : { deliver_policy: DeliverPolicy.All }),
    filter_subjects: options.filterSubjects,
    // Dead-lettering is decided here, after our own count, so the server never silently drops.
    max_deliver: -1,
    ack_wait: nanos(options.ackWaitMs ?? 30_000),
    max_ack_pending: options.maxAckPending ?? 1_000,
  };
  const existing = await missingAsUndefined(jsm.consumers.info(options.stream, options.name));
  if (existing) await jsm.consumers.update(options.stream, options.name, config);
  else await jsm.consumers.add(options.stream, config);

  const js = nc.jetstream();
  const consumer = await js.consumers.get(options.stream, options.name);
  const messages = await consumer.consume({ max_messages: 100, idle_heartbeat: 5_000 });
  const stop = () => messages.stop();
  signal.addEventListener('abort', stop, { once: true });

  async function deadLetter(msg: JsMsg, reason: string): Promise<void> {
    const h = natsHeaders();
    if (msg.headers) for (const [k, vs] of msg.headers) for (const v of vs) h.append(k, v);
    h.set(DLQ_HEADERS.consumer, options.name);
    h.set(DLQ_HEADERS.error, reason.slice(0, 1_000).replace(/[\r\n]+/g, ' '));
    h.set(DLQ_HEADERS.deliveryCount, String(msg.info.deliveryCount));
    h.set(DLQ_HEADERS.stream, msg.info.stream);
    h.set(DLQ_HEADERS.streamSequence, String(msg.info.streamSequence));
    h.set(DLQ_HEADERS.subject, msg.subject);
    await js.publish(`dlq.${options.name}.${msg.subject}`, msg.data, {
      headers: h,
      // A crash between this publish and the term() must not leave two dead letters.
      msgID: `dlq:${options.name}:${msg.info.stream}:${msg.info.streamSequence}`,
    });
    msg.term(reason.slice(0, 200));
    logger.warn({ subject: msg.subject, seq: msg.info.streamSequence, deliveries: msg.info.deliveryCount, reason }, 'event dead-lettered');
  }

  async function handle(msg: JsMsg): Promise<void> {
    const parsed = parseEvent(decoder.decode(msg.data));
    if (!parsed.ok) {
      if (parsed.reason === 'unknown-type') {
        logger.info({ type: parsed.type, dataversion: parsed.dataversion }, 'skipping unknown event type');
        await msg.ackAck();
        return;
      }
      await deadLetter(msg, `${parsed.reason}: ${parsed.message}`);
      return;
    }
    const event = parsed.event;
    try {
      const applied = await withTransaction(db, async (tx) => {
        const mark = await tx.query('INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
          options.name,
          event.id,
        ]);
        if (mark.rowCount === 0) return false;
        await handler(event, { tx, msg });
        return true;
      });
      await msg.ackAck();
      logger.debug({ eventId: event.id, orderId: event.subject, type: event.type, applied }, applied ? 'event applied' : 'duplicate event acknowledged');
    } catch (err) {
      const deliveries = msg.info.deliveryCount;
      if (deliveries >= maxDeliver) {
        await deadLetter(msg, err instanceof Error ? err.message : String(err));
        return;
      }
      const delay = backoff[Math.min(deliveries - 1, backoff.length - 1)] ?? 1_000;
      logger.warn({ err, eventId: event.id, orderId: event.subject, deliveries, retryInMs: delay }, 'event handling failed; will retry');
      msg.nak(delay);
    }
  }

  try {
    for await (const msg of messages) {
      try {
        await handle(msg);
      } catch (err) {
        // Dead-lettering or acking failed (NATS unreachable): the message is redelivered after ack_wait.
        logger.error({ err, subject: msg.subject, seq: msg.info.streamSequence }, 'could not settle message; it will be redelivered');
      }
    }
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
