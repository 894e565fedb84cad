import { headers as natsHeaders, type JetStreamClient, type PubAck } from 'nats';
import { checkoutWorkflowId } from '../../domain/order';
import { SpanKind, startMessagingSpan } from '../../events/trace-context';
import type { Logger } from '../../lib/logger';
import type { RelayMetrics } from '../metrics';
import type { OutboxRow } from './claim';

export interface PublishDeps {
  js: Pick<JetStreamClient, 'publish'>;
  logger: Logger;
  metrics: RelayMetrics;
  publishTimeoutMs: number;
}

const encoder = new TextEncoder();

/**
 * Publishes one row in a PRODUCER span whose parent is the transaction that wrote the row (its
 * stored `traceparent`); the message's `traceparent` header names this span, so a consumer's
 * span hangs under the publish. The envelope keeps the writer's `traceparent`. The span is the
 * hot-path kind (`startMessagingSpan`): with tracing off it costs next to nothing per message.
 */
export async function publishRow(deps: PublishDeps, row: OutboxRow): Promise<void> {
  const span = startMessagingSpan(`publish ${row.subject}`, SpanKind.PRODUCER, row.headers.traceparent, () => ({
    'messaging.system': 'nats',
    'messaging.operation.type': 'send',
    'messaging.destination.name': row.subject,
    'messaging.message.id': row.event_id,
    'checkout.order_id': row.partition_key,
  }));
  let ack: PubAck;
  try {
    const h = natsHeaders();
    h.set('Content-Type', 'application/cloudevents+json');
    for (const [k, v] of Object.entries(row.headers)) h.set(k, v);
    if (span.traceparent) h.set('traceparent', span.traceparent);
    ack = await deps.js.publish(row.subject, encoder.encode(row.body), {
      msgID: row.event_id,
      headers: h,
      timeout: deps.publishTimeoutMs,
    });
  } catch (err) {
    span.end(err);
    throw err;
  }
  // Guarded: building this line (in the span, for its trace id) costs a hot path when debug is off.
  if (deps.logger.isLevelEnabled('debug'))
    span.inContext(() =>
      deps.logger.debug(
        {
          eventId: row.event_id,
          orderId: row.partition_key,
          workflowId: checkoutWorkflowId(row.partition_key),
          type: row.subject,
          seq: ack.seq,
          duplicate: ack.duplicate,
        },
        'event published',
      ),
    );
  span.end();
}
