import { OrderStatus } from '../domain/order';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import { CommandRejected, ProviderEventTooEarly, UnusableProviderEvent } from './errors';
import { readCheckout } from './read';
import type { SagaClient } from './saga-client';
import { sagaStage } from './stored-order';
// The step table only (data; checkouts/cancel-before-start.ts reads it the same way).
import { SAGA_STEPS } from '../workflows/steps';

/** A payment provider's notification, after its signature has been verified. */
export interface ProviderEvent {
  /** Which provider sent it: event ids are unique per provider. */
  provider: string;
  id: string;
  type: string;
  /** The order it is about (`data.orderId`), when it names one. */
  orderId: string | undefined;
  /** The notification as received, kept for audit. */
  payload: unknown;
}

/** What became of a notification. */
export interface ProviderEventOutcome {
  /** `applied`: it had its effect; `ignored`: nothing to do (unknown type, order not waiting for it…). */
  outcome: 'applied' | 'ignored';
  /** True when this delivery repeats an event that was already applied: it changed nothing. */
  duplicate: boolean;
  detail?: string;
}

/** The 3-D Secure outcomes: the customer passed or failed the provider's challenge. */
export const AUTHENTICATION_EVENTS: Record<string, boolean> = {
  'payment.authentication.succeeded': true,
  'payment.authentication.failed': false,
};

/** The step whose hook waits for the 3-D Secure answer (its `run`, workflows/payment-confirmation.ts). */
const CONFIRMING_STEP = 'chargePayment';
const confirmingStep = SAGA_STEPS.findIndex((step) => step.name === CONFIRMING_STEP);
if (confirmingStep < 0) throw new Error(`the saga step table has no ${CONFIRMING_STEP} step`);

/**
 * Statuses in which a saga has not reached its 3-D Secure wait yet (or is charging after it):
 * PENDING, then the status of every step up to the charge, from the saga's step table, so a step
 * added before the charge counts here without an edit.
 */
const BEFORE_CONFIRMATION: readonly string[] = [
  OrderStatus.PENDING,
  ...SAGA_STEPS.slice(0, confirmingStep + 1).map((step) => step.status),
];
const TOO_EARLY_RETRY_AFTER_SECONDS = 5;
/** How a notification too early for an order whose saga has not started names the order's state. */
const SAGA_NOT_STARTED = `${OrderStatus.PENDING} (its saga has not started yet)`;

export interface ProviderEventDeps {
  db: Db;
  saga: SagaClient;
  logger: Logger;
}

/** Applies a 3-D Secure outcome to the order's saga, as the update id the event's id derives. */
async function applyAuthentication(
  deps: ProviderEventDeps,
  event: ProviderEvent,
  approved: boolean,
): Promise<Omit<ProviderEventOutcome, 'duplicate'>> {
  const { orderId } = event;
  if (orderId === undefined)
    throw new UnusableProviderEvent([{ path: 'data.orderId', message: `required for ${event.type}` }]);
  const stage = await sagaStage(deps.db, orderId);
  if (stage === 'unknown') return { outcome: 'ignored', detail: `no order ${orderId}` };
  // Committed but its saga not started yet (the saga starter is behind, or Temporal is down):
  // there is nothing to deliver it to, so the provider is told to retry rather than lose it.
  if (stage === 'queued') throw new ProviderEventTooEarly(TOO_EARLY_RETRY_AFTER_SECONDS, SAGA_NOT_STARTED);
  try {
    // The event id makes the update id: a redelivery after a failure joins the same update.
    await deps.saga.confirmPayment(orderId, approved, `provider-event:${event.provider}:${event.id}`);
    return { outcome: 'applied' };
  } catch (err) {
    if (!(err instanceof CommandRejected)) throw err;
    const state = await readCheckout(deps, orderId);
    if (state && BEFORE_CONFIRMATION.includes(state.status))
      throw new ProviderEventTooEarly(TOO_EARLY_RETRY_AFTER_SECONDS, state.status);
    return { outcome: 'ignored', detail: err.message };
  }
}

/**
 * Receives a payment provider's notification and applies each event id once. The receipt is
 * recorded first (a redelivery counts up `deliveries`); an event already applied answers as a
 * duplicate and changes nothing. A failure to apply (the saga unavailable, the notification too
 * early) leaves it unapplied and propagates, so the provider delivers it again; the retry joins
 * the same Temporal update, so it still takes effect once.
 *
 * @throws UnusableProviderEvent (a 3-D Secure outcome without an order), ProviderEventTooEarly,
 *   SagaUnavailable.
 * @example
 * const { outcome, duplicate } = await receiveProviderEvent({ db, saga, logger }, event);
 */
export async function receiveProviderEvent(
  deps: ProviderEventDeps,
  event: ProviderEvent,
): Promise<ProviderEventOutcome> {
  const { rows } = await deps.db.query<{ applied_at: Date | null; outcome: 'applied' | 'ignored' | null }>(
    `INSERT INTO provider_events (provider, event_id, type, order_id, payload) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (provider, event_id) DO UPDATE SET deliveries = provider_events.deliveries + 1
     RETURNING applied_at, outcome`,
    [event.provider, event.id, event.type, event.orderId ?? null, JSON.stringify(event.payload)],
  );
  const seen = rows[0];
  if (seen?.applied_at) return { outcome: seen.outcome ?? 'applied', duplicate: true };

  const approved = AUTHENTICATION_EVENTS[event.type];
  const result =
    approved === undefined
      ? { outcome: 'ignored' as const, detail: `events of type ${event.type} are not handled` }
      : await applyAuthentication(deps, event, approved);
  await deps.db.query(
    `UPDATE provider_events SET applied_at = now(), outcome = $3
     WHERE provider = $1 AND event_id = $2 AND applied_at IS NULL`,
    [event.provider, event.id, result.outcome],
  );
  deps.logger.info(
    { provider: event.provider, providerEventId: event.id, type: event.type, orderId: event.orderId, ...result },
    'payment provider notification received',
  );
  return { ...result, duplicate: false };
}
