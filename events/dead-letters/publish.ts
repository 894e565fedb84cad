import { headers as natsHeaders, type JetStreamClient, type JsMsg } from 'nats';

/** Stream that holds every consumer's dead letters. */
export const DLQ_STREAM = 'DLQ';

/** Header names on a dead letter, so another team's tooling can read why it is there. */
export const DLQ_HEADERS = {
  consumer: 'Dlq-Consumer',
  error: 'Dlq-Error',
  deliveryCount: 'Dlq-Delivery-Count',
  stream: 'Dlq-Stream',
  streamSequence: 'Dlq-Stream-Sequence',
  subject: 'Dlq-Original-Subject',
  /** The original `Nats-Msg-Id` (the event id): the dead letter's own id is derived from the source sequence. */
  originalMsgId: 'Dlq-Original-Msg-Id',
  time: 'Dlq-Time',
} as const;

/**
 * Subject of a consumer's dead letter for a message first published on `subject`.
 *
 * @example
 * dlqSubject('order-read-model', 'checkout.order.placed'); // 'dlq.order-read-model.checkout.order.placed'
 */
export function dlqSubject(consumer: string, subject: string): string {
  return `dlq.${consumer}.${subject}`;
}

/** Why a message was dead-lettered, limited to one header line. */
function headerSafe(text: string, max: number): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, max);
}

/** What a dead letter is made of, whether it comes from a live message or a parked event. */
export interface DeadLetterSource {
  consumer: string;
  subject: string;
  data: Uint8Array;
  headers: Iterable<[string, string[]]> | undefined;
  deliveryCount: number;
  stream: string;
  streamSequence: number;
}

/**
 * Publishes a dead letter to `dlq.<consumer>.<subject>` with the original headers plus the
 * `Dlq-*` headers, and waits for the DLQ stream's ack. Its `Nats-Msg-Id` is derived from the
 * source stream sequence, so dead-lettering the same message twice (a crash before the source
 * was terminated) stores one dead letter.
 *
 * @example
 * await publishDeadLetter(js, { consumer: 'notifications', subject, data, headers, deliveryCount: 5, stream: 'CHECKOUT', streamSequence: 42 }, 'boom', new Date());
 */
export async function publishDeadLetter(
  js: JetStreamClient,
  source: DeadLetterSource,
  reason: string,
  now: Date,
): Promise<void> {
  const h = natsHeaders();
  if (source.headers) for (const [k, vs] of source.headers) for (const v of vs) h.append(k, v);
  h.set(DLQ_HEADERS.consumer, source.consumer);
  h.set(DLQ_HEADERS.error, headerSafe(reason, 1_000) || 'unknown error');
  h.set(DLQ_HEADERS.deliveryCount, String(source.deliveryCount));
  h.set(DLQ_HEADERS.stream, source.stream);
  h.set(DLQ_HEADERS.streamSequence, String(source.streamSequence));
  h.set(DLQ_HEADERS.subject, source.subject);
  h.set(DLQ_HEADERS.time, now.toISOString());
  const originalId = h.get('Nats-Msg-Id');
  if (originalId) h.set(DLQ_HEADERS.originalMsgId, originalId);
  await js.publish(dlqSubject(source.consumer, source.subject), source.data, {
    headers: h,
    msgID: `dlq:${source.consumer}:${source.stream}:${source.streamSequence}`,
  });
}

/**
 * Dead-letters a live message: {@link publishDeadLetter}, then terminates `msg` at its source so
 * it is never delivered to this consumer again.
 *
 * @example
 * await deadLetter(js, msg, 'order-read-model', 'invalid-data: totalCents: expected number', new Date());
 */
export async function deadLetter(
  js: JetStreamClient,
  msg: JsMsg,
  consumer: string,
  reason: string,
  now: Date,
): Promise<void> {
  await publishDeadLetter(
    js,
    {
      consumer,
      subject: msg.subject,
      data: msg.data,
      headers: msg.headers,
      deliveryCount: msg.info.deliveryCount,
      stream: msg.info.stream,
      streamSequence: msg.info.streamSequence,
    },
    reason,
    now,
  );
  msg.term(headerSafe(reason, 200));
}
