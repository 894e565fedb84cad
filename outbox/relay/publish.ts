import { headers as natsHeaders, type JetStreamClient } from 'nats';
import { checkoutWorkflowId } from '../../domain/order';
import { SpanKind, withMessagingSpan } from '../../events/trace-context';
import type { Logger } from '../../lib/logger';
import type { RelayMetrics } from '../metrics';
import type { OutboxRow } from './claim';

export interface PublishDeps {
  js: Pick<JetStreamClient, 'publish'>;
  logger: Logger;
  metrics: RelayMetrics;
  publishTimeoutMs: number;
}

/** What publishing one batch did: the rows acked, and every publish failure. */
export interface PublishOutcome {
  acked: string[];
  errors: unknown[];
}

const encoder = new TextEncoder();

/**
 * Publishes a batch. Rows of different orders publish concurrently; rows of one order publish one
 * after another, each waiting for its ack, and stop at the first failure.
 */
export async function publishInOrder(deps: PublishDeps, rows: readonly OutboxRow[]): Promise<PublishOutcome> {
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
          await publishRow(deps, row);
          acked.push(row.id);
          deps.metrics.published((performance.now() - startedAt) / 1000, row.created_at);
        } catch (err) {
          // The rest of this order waits for the next attempt: publishing past a failed event
          // would put its successors in the stream ahead of it.
          errors.push(err);
          deps.metrics.publishFailed(err);
          return;
        }
      }
    }),
  );
  return { acked, errors };
}

/**
 * Publishes one row in a PRODUCER span whose parent is the transaction that wrote the row (its
 * stored `traceparent`); the message's `traceparent` header names this span, so a consumer's
 * span hangs under the publish. The envelope keeps the writer's `traceparent`.
 */
async function publishRow(deps: PublishDeps, row: OutboxRow): Promise<void> {
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
      const ack = await deps.js.publish(row.subject, encoder.encode(row.body), {
        msgID: row.event_id,
        headers: h,
        timeout: deps.publishTimeoutMs,
      });
      // Guarded: building this line for every published row costs a hot path when debug is off.
      if (deps.logger.isLevelEnabled('debug'))
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
        );
    },
  );
}
