import { randomUUID } from 'node:crypto';
import {
  createConsumer,
  EVENT_TYPES,
  STREAMS,
  streamFor,
  type ConsumerDeps,
  type HandlerFn,
  type Handlers,
  type ParsedEvent,
} from 'checkout-saga/events';
import { headers as natsHeaders, type JetStreamClient, type PubAck } from 'nats';
import type { CloudEvent } from '../../events/envelope';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** A valid `checkout.order.*` envelope for `orderId`, as the producer would publish it. */
export function orderEvent(
  type: 'checkout.order.placed' | 'checkout.order.completed',
  orderId: string,
  id = randomUUID(),
): CloudEvent {
  const now = new Date().toISOString();
  const base = { orderId, customerId: 'cust-kit', totalCents: 500, currency: 'USD' };
  const data =
    type === 'checkout.order.placed'
      ? {
          ...base,
          items: [{ sku: 'SKU-001', name: 'Widget', quantity: 1, unitPriceCents: 500, lineTotalCents: 500 }],
          shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
          placedAt: now,
        }
      : { ...base, completedAt: now };
  return {
    specversion: '1.0',
    id,
    type,
    source: '/test/consumer-kit',
    subject: orderId,
    time: now,
    datacontenttype: 'application/json',
    dataversion: 1,
    traceparent: TRACEPARENT,
    data,
  };
}

/**
 * Publishes a body to JetStream as the relay does (`Nats-Msg-Id`, `traceparent` headers).
 *
 * @example
 * await publishEvent(js, orderEvent('checkout.order.placed', orderId));
 */
export async function publishEvent(
  js: JetStreamClient,
  event: CloudEvent | { type: string; body: string; msgId: string },
  msgId?: string,
): Promise<PubAck> {
  const h = natsHeaders();
  h.set('traceparent', TRACEPARENT);
  if ('body' in event)
    return js.publish(event.type, new TextEncoder().encode(event.body), { msgID: event.msgId, headers: h });
  return js.publish(event.type, new TextEncoder().encode(JSON.stringify(event)), {
    msgID: msgId ?? event.id,
    headers: h,
  });
}

/**
 * Hands every event of the catalogue published since `since` to `record`: one consumer of the kit
 * per stream (the DLQ aside), running until `signal` aborts. How a test sees what reached JetStream.
 *
 * @example
 * running.push(...watchEveryStream({ nc, db, logger }, { prefix: 'e2e', since, signal }, record));
 */
export function watchEveryStream(
  deps: ConsumerDeps,
  options: { prefix: string; since: Date; signal: AbortSignal },
  record: HandlerFn<ParsedEvent>,
): Promise<void>[] {
  return STREAMS.filter((s) => s.name !== 'DLQ').map((stream) => {
    const handlers = Object.fromEntries(
      EVENT_TYPES.filter((t) => streamFor(t) === stream.name).map((t) => [t, record]),
    ) as Handlers;
    const consumer = createConsumer(deps, {
      name: `${options.prefix}-${randomUUID().slice(0, 8)}`,
      stream: stream.name,
      handlers,
      deliverFrom: options.since,
    });
    return consumer.run(options.signal);
  });
}
