import type { JsMsg } from 'nats';
import { deadLetter } from '../dead-letters/publish';
import type { ParsedEvent, ParseResult } from '../envelope';
import { markSpanFailed, SpanKind, withMessagingSpan } from '../trace-context';
import { applyEvent } from './apply';
import type { ConsumerRuntime } from './runtime';
import { handlerOf, type StepHandler } from './settings';
import type { Delivery } from './tally';
import { withTransaction } from './transaction';
import type { MessageInfo } from './types';

/** Where a message came from, as handlers and parked events see it. */
export function infoOf(msg: JsMsg): MessageInfo {
  const headers: Record<string, string[]> = {};
  if (msg.headers) for (const [k, vs] of msg.headers) headers[k] = [...vs];
  return {
    subject: msg.subject,
    stream: msg.info.stream,
    streamSequence: msg.info.streamSequence,
    deliveryCount: msg.info.deliveryCount,
    headers,
  };
}

/**
 * Settles one message in a CONSUMER span, child of the relay's publish span (the `traceparent`
 * header; the envelope's when a publisher sent none), with the handler's database work inside.
 * Rejects only when settling itself failed (NATS unreachable): the server then redelivers.
 */
export function settleMessage(rt: ConsumerRuntime, msg: JsMsg, body: string, parsed: ParseResult): Promise<void> {
  const traceparent = msg.headers?.get('traceparent') || (parsed.ok ? parsed.event.traceparent : undefined);
  const attributes = {
    'messaging.system': 'nats',
    'messaging.operation.type': 'process',
    'messaging.destination.name': msg.subject,
    'messaging.consumer.group.name': rt.settings.name,
    'messaging.message.delivery_count': msg.info.deliveryCount,
    ...(parsed.ok ? { 'messaging.message.id': parsed.event.id, 'checkout.order_id': parsed.event.subject } : {}),
  };
  return withMessagingSpan(`process ${msg.subject}`, SpanKind.CONSUMER, traceparent, attributes, () =>
    settle(rt, msg, body, parsed),
  );
}

/** Acknowledges what does not parse or has no handler; dead-letters what fails its schema; else handles it. */
async function settle(rt: ConsumerRuntime, msg: JsMsg, body: string, parsed: ParseResult): Promise<void> {
  const delivery = { msg, startedAt: performance.now() };
  if (!parsed.ok) {
    if (parsed.reason === 'unknown-type') {
      rt.logger.info({ type: parsed.type, dataversion: parsed.dataversion }, 'skipping unknown event type');
      await msg.ackAck();
      rt.tally.count('unknown', delivery);
      return;
    }
    await deadLetterMessage(rt, `${parsed.reason}: ${parsed.message}`, delivery);
    return;
  }
  const handler = handlerOf(rt.settings.handlers, parsed.event.type);
  if (!handler) {
    await msg.ackAck();
    rt.tally.count('unhandled', delivery);
    return;
  }
  await handleEvent(rt, parsed.event, handler, body, delivery);
}

/**
 * Applies the event in one transaction, then acknowledges it (double ack) after the commit; on
 * failure retries it with backoff (`nak(delay)`), or dead-letters it after `maxDeliver` deliveries.
 */
async function handleEvent(
  rt: ConsumerRuntime,
  event: ParsedEvent,
  handler: StepHandler,
  body: string,
  delivery: Delivery,
): Promise<void> {
  const { msg } = delivery;
  // Per-order work is keyed on the event's subject, so that is what the lines carry.
  const log = { eventId: event.id, orderId: event.subject, type: event.type };
  try {
    const info = infoOf(msg);
    const outcome = await withTransaction(rt.db, (tx) => applyEvent(rt, tx, event, handler, body, info));
    await rt.settings.afterCommit?.(event, outcome);
    await msg.ackAck();
    rt.tally.count(outcome, delivery);
    rt.logger.debug({ ...log, outcome }, `event ${outcome}`);
  } catch (err) {
    markSpanFailed(err);
    await retryOrDeadLetter(rt, delivery, err, log);
  }
}

/**
 * A failed event: retried with backoff (`nak(delay)`), or dead-lettered after `maxDeliver`
 * deliveries.
 */
export async function retryOrDeadLetter(
  rt: ConsumerRuntime,
  delivery: Delivery,
  err: unknown,
  log: Record<string, unknown>,
): Promise<void> {
  const { msg } = delivery;
  const deliveries = msg.info.deliveryCount;
  if (deliveries >= rt.settings.maxDeliver) {
    await deadLetterMessage(rt, err instanceof Error ? err.message : String(err), delivery);
    return;
  }
  const backoff = rt.settings.backoffMs;
  const delay = backoff[Math.min(deliveries - 1, backoff.length - 1)] ?? 1_000;
  rt.logger.warn({ err, ...log, deliveries, retryInMs: delay }, 'event handling failed; will retry');
  msg.nak(delay);
  rt.tally.count('retried', delivery);
}

async function deadLetterMessage(rt: ConsumerRuntime, reason: string, delivery: Delivery): Promise<void> {
  const { msg } = delivery;
  await deadLetter(rt.nc.jetstream(), msg, rt.settings.name, reason, rt.now());
  rt.tally.count('dead_lettered', delivery);
  rt.logger.warn(
    { subject: msg.subject, seq: msg.info.streamSequence, deliveries: msg.info.deliveryCount, reason },
    'event dead-lettered',
  );
}
