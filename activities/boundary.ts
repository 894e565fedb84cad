import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { DomainError } from '../domain/errors';

/**
 * Runs an activity body and translates domain errors into Temporal failures of the shared
 * `ErrorType`s: business failures non-retryable, transient ones retryable. Other errors
 * (database down, bugs) pass through and are retried by the activity's retry policy.
 */
export async function atBoundary<T>(fn: () => Promise<T>): Promise<T> {
  const stopHeartbeat = startHeartbeat();
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DomainError) {
      throw ApplicationFailure.create({
        type: err.type,
        message: err.message,
        nonRetryable: !err.retryable,
        details: err.details ? [err.details] : [],
        cause: err,
      });
    }
    throw err;
  } finally {
    stopHeartbeat();
  }
}

const HEARTBEAT_EVERY_MS = 2_000;

/**
 * Heartbeats while an activity waits on a provider or the carrier, so a worker that dies
 * mid-call is noticed after the activity's heartbeat timeout (seconds) rather than its
 * start-to-close timeout, and the call is retried on another worker. Outside an activity (the
 * integration tests call activities as plain functions) there is nothing to heartbeat to.
 */
function startHeartbeat(): () => void {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return () => undefined;
  }
  const timer = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
  return () => clearInterval(timer);
}
