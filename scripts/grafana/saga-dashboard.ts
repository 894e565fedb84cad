import type { Dashboard } from './model';
import { p50p99, quantile, rate, total } from './promql';

/** The saga worker and the saga starter: outcomes, latencies, compensations, starts. */
export const saga: Dashboard = {
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
