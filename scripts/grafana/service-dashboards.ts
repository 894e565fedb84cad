import type { Dashboard } from './model';
import { RANGE, p50p99, quantile, rate, total } from './promql';

/** The API and the saga worker as a Temporal SDK worker. */
export const api: Dashboard = {
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
          width: 12,
          queries: [{ expr: rate('http_requests_total', 'method, route'), legend: '{{method}} {{route}}' }],
        },
        {
          title: '5xx share',
          unit: 'percentunit',
          width: 12,
          queries: [
            {
              expr: `sum(rate(http_requests_total{status=~"5.."}${RANGE})) / sum(rate(http_requests_total${RANGE}))`,
              legend: '5xx',
            },
          ],
        },
        {
          title: 'Errors (5xx) by route',
          description:
            "Which route fails, with which status: 500 is a bug (its log line has the traceId); 503 is Temporal, the identity provider's keys, or a provider notification ahead of its saga (with Retry-After).",
          unit: 'reqps',
          width: 12,
          queries: [
            {
              expr: rate('http_requests_total', 'method, route, status', '{status=~"5.."}'),
              legend: '{{method}} {{route}} {{status}}',
            },
          ],
        },
        {
          title: 'Refused (401, 403, 429) by route',
          unit: 'reqps',
          width: 12,
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

export const temporal: Dashboard = {
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
