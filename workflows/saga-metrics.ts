import { metricMeter } from '@temporalio/workflow';

/**
 * Saga metrics, created per execution: the workflow meter exists only inside workflow context.
 * The SDK drops them while replaying and they add no command to the history, so adding one needs
 * no `patched()`. Durations use workflow time (the time of the workflow task that saw the event).
 * Labels are bounded enums: status, reason (FailureReason, `none`, `unexpected`), step, result.
 */
export function sagaMetrics() {
  return {
    started: metricMeter.createCounter('checkout_sagas_started', 'sagas', 'Sagas started'),
    finished: metricMeter.createCounter('checkout_sagas_finished', 'sagas', 'Sagas finished, by status and reason'),
    duration: metricMeter.createHistogram(
      'checkout_saga_duration_seconds',
      'float',
      '',
      'Saga run time from its start to its final status, by status and reason',
    ),
    stepDuration: metricMeter.createHistogram(
      'checkout_step_duration_seconds',
      'float',
      '',
      'Step run time (forward or compensation, retries included), by step and result',
    ),
    compensations: metricMeter.createCounter(
      'checkout_compensations',
      'compensations',
      'Compensation steps started, by step',
    ),
    compensationsFinished: metricMeter.createCounter(
      'checkout_compensations_finished',
      'compensations',
      'Compensation steps finished, by step and result (succeeded, failed)',
    ),
    stuck: metricMeter.createCounter(
      'checkout_compensations_stuck',
      'compensations',
      'Compensations still failing after COMPENSATION_ALERT_AFTER, by step',
    ),
  };
}

export type SagaMetrics = ReturnType<typeof sagaMetrics>;
