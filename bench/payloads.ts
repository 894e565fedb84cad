import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { headers as natsHeaders, type JetStreamClient, type MsgHdrs } from 'nats';
import { repoRoot } from '../lib/config';
import type { CloudEvent } from '../events/envelope';

/** The committed contract fixture every benchmark event is cloned from, so payloads are real ones. */
const TEMPLATE = JSON.parse(
  readFileSync(join(repoRoot, 'events', 'fixtures', 'checkout.order.placed.v1.json'), 'utf8'),
) as CloudEvent & {
  data: { orderId: string };
};

/** One `checkout.order.placed` event ready for the outbox or the wire. */
export interface BenchEvent {
  id: string;
  orderId: string;
  subject: string;
  body: string;
  traceparent: string;
}

/**
 * `n` `checkout.order.placed` envelopes, each for its own order (so none waits for another's ack).
 *
 * @example
 * const events = benchEvents(1000);
 */
export function benchEvents(n: number): BenchEvent[] {
  return Array.from({ length: n }, () => {
    const id = randomUUID();
    const orderId = randomUUID();
    const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
    const now = new Date().toISOString();
    const envelope = {
      ...TEMPLATE,
      id,
      subject: orderId,
      time: now,
      traceparent,
      data: { ...TEMPLATE.data, orderId, placedAt: now },
    };
    return { id, orderId, subject: TEMPLATE.type, body: JSON.stringify(envelope), traceparent };
  });
}

/** Average body size in bytes (what `nats bench` is told to send). */
export function averageSize(events: readonly BenchEvent[]): number {
  return Math.round(events.reduce((sum, e) => sum + Buffer.byteLength(e.body), 0) / Math.max(1, events.length));
}

const encoder = new TextEncoder();

/** The headers the relay sets: content type and trace context. */
export function relayHeaders(event: BenchEvent): MsgHdrs {
  const h = natsHeaders();
  h.set('Content-Type', 'application/cloudevents+json');
  h.set('traceparent', event.traceparent);
  return h;
}

/**
 * Publishes `events` straight to JetStream with at most `window` publishes awaiting their ack:
 * the raw nats.js baseline. `msgId` defaults to the event id (as the relay does).
 *
 * @example
 * await publishRaw(js, events, 256);
 */
export async function publishRaw(
  js: JetStreamClient,
  events: readonly BenchEvent[],
  window: number,
  msgId: (e: BenchEvent) => string = (e) => e.id,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(window, events.length) }, async () => {
      while (next < events.length) {
        const event = events[next] as BenchEvent;
        next += 1;
        await js.publish(event.subject, encoder.encode(event.body), {
          msgID: msgId(event),
          headers: relayHeaders(event),
        });
      }
    }),
  );
}
