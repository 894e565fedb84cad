import type { Dashboard } from './model';
import { p50p99, quantile, rate, total } from './promql';

/** Events on their way out: the outbox relay, then the subscribers. */
export const outbox: Dashboard = {
  uid: 'checkout-outbox',
  title: 'Checkout outbox and relay',
  description: 'Events leaving the outbox for JetStream: backlog, age, publish latency and errors, partitions.',
  file: 'outbox-relay.json',
  rows: [
    {
      title: 'Backlog',
      panels: [
        {
          title: 'Unpublished rows',
          description: 'Every relay reports the whole outbox: max, not sum.',
          unit: 'short',
          queries: [{ expr: 'max(outbox_backlog_rows)', legend: 'rows' }],
        },
        {
          title: 'Oldest unpublished row',
          description: 'OutboxBacklogOld above 60 s.',
          unit: 's',
          queries: [{ expr: 'max(outbox_oldest_unpublished_age_seconds)', legend: 'oldest' }],
        },
        { title: 'Published', unit: 'ops', queries: [{ expr: total('outbox_published_total'), legend: 'published' }] },
      ],
    },
    {
      title: 'Publishing',
      panels: [
        { title: 'Publish to ack', unit: 's', queries: p50p99('outbox_publish_duration_seconds', '', '') },
        { title: 'Row committed to ack', unit: 's', queries: p50p99('outbox_commit_to_ack_seconds', '', '') },
        {
          title: 'Publish errors',
          unit: 'ops',
          queries: [{ expr: rate('outbox_publish_errors_total', 'reason'), legend: '{{reason}}' }],
        },
      ],
    },
    {
      title: 'Relays',
      panels: [
        {
          title: 'Partitions owned (of 64)',
          unit: 'short',
          queries: [
            { expr: 'sum by (instance) (outbox_partitions_owned)', legend: '{{instance}}' },
            { expr: 'sum(outbox_partitions_owned)', legend: 'all relays' },
          ],
        },
        {
          title: 'Relays sharing the outbox',
          unit: 'short',
          queries: [{ expr: 'max(outbox_relay_members)', legend: 'members' }],
        },
        {
          title: 'Database sessions lost',
          unit: 'short',
          queries: [{ expr: 'sum(increase(outbox_relay_session_errors_total[1h]))', legend: 'last hour' }],
        },
      ],
    },
  ],
};

export const consumers: Dashboard = {
  uid: 'checkout-consumers',
  title: 'Checkout event consumers',
  description: 'Each subscriber durable: lag in messages and time, outcomes, retries and dead letters.',
  file: 'consumers.json',
  rows: [
    {
      title: 'Lag',
      panels: [
        {
          title: 'Pending (not yet delivered)',
          unit: 'short',
          queries: [
            { expr: 'max by (consumer, stream) (consumer_pending_messages)', legend: '{{consumer}} {{stream}}' },
          ],
        },
        {
          title: 'Ack pending (being handled)',
          unit: 'short',
          queries: [
            { expr: 'max by (consumer, stream) (consumer_ack_pending_messages)', legend: '{{consumer}} {{stream}}' },
          ],
        },
        {
          title: 'Event age when settled (p99)',
          unit: 's',
          queries: [{ expr: quantile(0.99, 'consumer_event_age_seconds', 'consumer'), legend: '{{consumer}}' }],
        },
      ],
    },
    {
      title: 'Outcomes',
      panels: [
        {
          title: 'Messages by outcome',
          unit: 'ops',
          queries: [{ expr: rate('consumer_messages_total', 'consumer, outcome'), legend: '{{consumer}} {{outcome}}' }],
        },
        {
          title: 'Retries',
          unit: 'ops',
          queries: [
            { expr: rate('consumer_messages_total', 'consumer', '{outcome="retried"}'), legend: '{{consumer}}' },
          ],
        },
        {
          title: 'Dead letters waiting',
          description: 'npm run dlq -- list --consumer <name>',
          unit: 'short',
          queries: [{ expr: 'max by (consumer) (consumer_dlq_messages)', legend: '{{consumer}}' }],
        },
        {
          title: 'Handling time (p99)',
          unit: 's',
          queries: [
            {
              expr: quantile(0.99, 'consumer_processing_duration_seconds', 'consumer, outcome'),
              legend: '{{consumer}} {{outcome}}',
            },
          ],
        },
      ],
    },
  ],
};
