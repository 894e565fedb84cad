import type { Dashboard, Query } from './model';

/**
 * The dashboards of deploy/grafana/dashboards/, one per concern, each panel a PromQL query of
 * metrics the processes export (docs/operations.md "Every metric"; test/integration/deploy-metrics
 * checks every name against a real scrape). `npm run dashboards:generate` writes the JSON.
 */

const RANGE = '[$__rate_interval]';
const rate = (metric: string, by: string, selector = ''): string =>
  `sum by (${by}) (rate(${metric}${selector}${RANGE}))`;
const total = (metric: string, selector = ''): string => `sum(rate(${metric}${selector}${RANGE}))`;
/** The q-quantile of a histogram by `by` (empty: overall). */
const quantile = (q: number, metric: string, by: string, selector = ''): string =>
  `histogram_quantile(${q}, sum by (${[by, 'le'].filter(Boolean).join(', ')}) (rate(${metric}_bucket${selector}${RANGE})))`;
const p50p99 = (metric: string, by: string, legend: string, selector = ''): Query[] => [
  { expr: quantile(0.5, metric, by, selector), legend: `p50 ${legend}` },
  { expr: quantile(0.99, metric, by, selector), legend: `p99 ${legend}` },
];

const saga: Dashboard = {
  uid: 'checkout-saga',
  title: 'Checkout saga',
  description: 'Sagas by outcome, step and saga latency, compensations, and the saga starter (docs/operations.md).',
  file: 'checkout-saga.json',
  rows: [
    {
      title: 'Sagas',
      panels: [
        {
          title: 'Started',
          unit: 'ops',
          queries: [{ expr: total('checkout_sagas_started_total'), legend: 'started' }],
        },
        {
          title: 'Finished by outcome',
          unit: 'ops',
          queries: [{ expr: rate('checkout_sagas_finished_total', 'status, reason'), legend: '{{status}} {{reason}}' }],
        },
        {
          title: 'Failed share (15 min)',
          description: 'Business failures are normal; a jump is not (CheckoutSagaFailureRatioHigh at 20%).',
          unit: 'percentunit',
          kind: 'stat',
          queries: [
            {
              expr: 'sum(rate(checkout_sagas_finished_total{status="FAILED"}[15m])) / sum(rate(checkout_sagas_finished_total[15m]))',
            },
          ],
        },
        {
          title: 'Saga duration',
          unit: 's',
          queries: p50p99('checkout_saga_duration_seconds', 'status', '{{status}}'),
        },
        {
          title: 'Step duration (p99)',
          description: 'One step including its retries; chargePayment includes the 3-D Secure wait.',
          unit: 's',
          queries: [{ expr: quantile(0.99, 'checkout_step_duration_seconds', 'step'), legend: '{{step}}' }],
        },
        {
          title: 'Unexpected failures (bugs)',
          unit: 'short',
          kind: 'stat',
          queries: [{ expr: 'sum(increase(checkout_sagas_finished_total{reason="unexpected"}[1h]))' }],
        },
      ],
    },
    {
      title: 'Compensations',
      panels: [
        {
          title: 'Started',
          unit: 'ops',
          queries: [{ expr: rate('checkout_compensations_total', 'step'), legend: '{{step}}' }],
        },
        {
          title: 'Finished',
          unit: 'ops',
          queries: [
            { expr: rate('checkout_compensations_finished_total', 'step, result'), legend: '{{step}} {{result}}' },
          ],
        },
        {
          title: 'Running (approx., last hour)',
          description: 'Started minus finished; Temporal visibility has the exact count (runbook).',
          unit: 'short',
          queries: [
            {
              expr: 'sum by (step) (increase(checkout_compensations_total[1h])) - sum by (step) (increase(checkout_compensations_finished_total[1h]))',
              legend: '{{step}}',
            },
          ],
        },
        {
          title: 'Stuck (last hour)',
          description: 'Still failing after COMPENSATION_ALERT_AFTER: CompensationStuck = true in the Web UI.',
          unit: 'short',
          queries: [{ expr: 'sum by (step) (increase(checkout_compensations_stuck_total[1h]))', legend: '{{step}}' }],
        },
        {
          title: 'Compensation attempts failing',
          unit: 'ops',
          queries: [
            {
              expr: rate(
                'temporal_activity_execution_failed_total',
                'activity_type',
                '{activity_type=~"releaseStock|refundPayment|cancelShipment"}',
              ),
              legend: '{{activity_type}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Saga starter',
      panels: [
        {
          title: 'Orders waiting for their saga',
          unit: 'short',
          queries: [{ expr: 'max(checkout_saga_starts_backlog)', legend: 'backlog' }],
        },
        {
          title: 'Oldest waiting order',
          description: 'CheckoutSagaStartsBehind above 60 s.',
          unit: 's',
          queries: [{ expr: 'max(checkout_saga_starts_oldest_age_seconds)', legend: 'oldest' }],
        },
        {
          title: 'Starts by result',
          unit: 'ops',
          queries: [{ expr: rate('checkout_saga_starts_total', 'result'), legend: '{{result}}' }],
        },
        {
          title: 'Order committed to saga accepted',
          unit: 's',
          queries: p50p99('checkout_saga_start_delay_seconds', '', ''),
        },
        { title: 'Start call to Temporal', unit: 's', queries: p50p99('checkout_saga_start_duration_seconds', '', '') },
      ],
    },
  ],
};

const outbox: Dashboard = {
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

const consumers: Dashboard = {
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

const api: Dashboard = {
  uid: 'checkout-api',
  title: 'Checkout API',
  description: 'Requests by route and status, errors, latency, refusals; and the Node processes.',
  file: 'api.json',
  rows: [
    {
      title: 'Traffic',
      panels: [
        {
          title: 'Requests by route',
          unit: 'reqps',
          queries: [{ expr: rate('http_requests_total', 'method, route'), legend: '{{method}} {{route}}' }],
        },
        {
          title: '5xx share',
          unit: 'percentunit',
          queries: [
            {
              expr: `sum(rate(http_requests_total{status=~"5.."}${RANGE})) / sum(rate(http_requests_total${RANGE}))`,
              legend: '5xx',
            },
          ],
        },
        {
          title: 'Refused (401, 403, 429) by route',
          unit: 'reqps',
          queries: [
            {
              expr: rate('http_requests_total', 'route, status', '{status=~"401|403|429"}'),
              legend: '{{route}} {{status}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Latency',
      panels: [
        {
          title: 'p99 by route',
          unit: 's',
          width: 12,
          queries: [
            {
              expr: quantile(0.99, 'http_request_duration_seconds', 'route', '{route!="unmatched"}'),
              legend: '{{route}}',
            },
          ],
        },
        {
          title: 'p50 by route',
          unit: 's',
          width: 12,
          queries: [
            {
              expr: quantile(0.5, 'http_request_duration_seconds', 'route', '{route!="unmatched"}'),
              legend: '{{route}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Node processes (API, relay, starter, subscribers)',
      panels: [
        {
          title: 'Resident memory',
          unit: 'bytes',
          queries: [{ expr: 'sum by (job, instance) (process_resident_memory_bytes)', legend: '{{job}} {{instance}}' }],
        },
        {
          title: 'CPU',
          unit: 'percentunit',
          queries: [{ expr: rate('process_cpu_seconds_total', 'job, instance'), legend: '{{job}} {{instance}}' }],
        },
        {
          title: 'Event loop lag',
          unit: 's',
          queries: [{ expr: 'max by (job, instance) (nodejs_eventloop_lag_seconds)', legend: '{{job}} {{instance}}' }],
        },
      ],
    },
  ],
};

const temporal: Dashboard = {
  uid: 'checkout-temporal-sdk',
  title: 'Checkout saga worker (Temporal SDK)',
  description: "The saga worker's temporal_* metrics: slots, pollers, task latencies, activity failures, requests.",
  file: 'temporal-sdk.json',
  rows: [
    {
      title: 'Capacity',
      panels: [
        {
          title: 'Free task slots',
          description: 'TemporalWorkerSlotsExhausted at 0: add saga workers.',
          unit: 'short',
          queries: [
            {
              expr: 'min by (instance, worker_type) (temporal_worker_task_slots_available)',
              legend: '{{instance}} {{worker_type}}',
            },
          ],
        },
        {
          title: 'Used task slots',
          unit: 'short',
          queries: [{ expr: 'sum by (worker_type) (temporal_worker_task_slots_used)', legend: '{{worker_type}}' }],
        },
        {
          title: 'Pollers',
          unit: 'short',
          queries: [{ expr: 'sum by (poller_type) (temporal_num_pollers)', legend: '{{poller_type}}' }],
        },
      ],
    },
    {
      title: 'Task latency',
      panels: [
        {
          title: 'Workflow task schedule-to-start',
          unit: 's',
          queries: p50p99('temporal_workflow_task_schedule_to_start_latency_seconds', '', ''),
        },
        {
          title: 'Activity schedule-to-start',
          unit: 's',
          queries: p50p99('temporal_activity_schedule_to_start_latency_seconds', '', ''),
        },
        {
          title: 'Workflow task execution',
          unit: 's',
          queries: p50p99('temporal_workflow_task_execution_latency_seconds', '', ''),
        },
      ],
    },
    {
      title: 'Activities and workflows',
      panels: [
        {
          title: 'Activity execution (p99)',
          unit: 's',
          queries: [
            {
              expr: quantile(0.99, 'temporal_activity_execution_latency_seconds', 'activity_type'),
              legend: '{{activity_type}}',
            },
          ],
        },
        {
          title: 'Activity failures',
          unit: 'ops',
          queries: [
            { expr: rate('temporal_activity_execution_failed_total', 'activity_type'), legend: '{{activity_type}}' },
          ],
        },
        {
          title: 'Workflows completed',
          unit: 'ops',
          queries: [{ expr: total('temporal_workflow_completed_total'), legend: 'completed' }],
        },
        {
          title: 'Sticky cache size',
          unit: 'short',
          queries: [{ expr: 'sum by (instance) (temporal_sticky_cache_size)', legend: '{{instance}}' }],
        },
        {
          title: 'Requests to Temporal (p99)',
          unit: 's',
          queries: [{ expr: quantile(0.99, 'temporal_request_latency_seconds', 'operation'), legend: '{{operation}}' }],
        },
        {
          title: 'Requests',
          unit: 'ops',
          queries: [{ expr: rate('temporal_request_total', 'operation'), legend: '{{operation}}' }],
        },
      ],
    },
  ],
};

/** Every dashboard, in the order of the README's list. */
export const DASHBOARDS: readonly Dashboard[] = [saga, outbox, consumers, api, temporal];
