import { PaymentDeclinedError, StepAlreadyCompensatedError } from '../domain/errors';
import { withTransaction, type Tx } from '../lib/db';
import { appendEvent } from '../outbox/append';
import type { ConfirmResult, PaymentProvider } from './providers/payment-provider';
import { atBoundary } from './boundary';
import type { ActivityDeps } from './index';
import { lockOrder, type LockedOrder } from './order-lock';

type PaymentStatus = 'CHARGED' | 'DECLINED' | 'REFUNDED' | 'VOIDED';
interface PaymentRow {
  status: PaymentStatus;
  provider_charge_id: string | null;
  amount_cents: string;
  decline_reason: string | null;
}

/** The provider idempotency key of an order's charge: the same on every retry and every worker. */
export function chargeKey(orderId: string): string {
  return `order:${orderId}:charge`;
}

async function paymentOf(tx: Tx, orderId: string): Promise<PaymentRow | undefined> {
  const { rows } = await tx.query<PaymentRow>(
    'SELECT status, provider_charge_id, amount_cents, decline_reason FROM payments WHERE order_id = $1',
    [orderId],
  );
  return rows[0];
}

/** What the saga learns from a completed charge step. */
export type ChargeStepResult = { status: 'charged'; paymentId: string; amountCents: number };

type ChargeOutcome =
  { kind: 'charged'; paymentId: string } | { kind: 'declined'; reason: string } | { kind: 'compensated' };

function settled(row: PaymentRow): ChargeOutcome {
  if (row.status === 'CHARGED') return { kind: 'charged', paymentId: row.provider_charge_id ?? '' };
  if (row.status === 'DECLINED') return { kind: 'declined', reason: row.decline_reason ?? 'declined' };
  return { kind: 'compensated' };
}

/**
 * Payment activities over an injected provider. The provider call happens outside any database
 * transaction (it is a remote system); its idempotency key makes every retry the same charge,
 * and the outcome is then recorded with its event in one transaction.
 *
 * @example
 * const payments = createPaymentActivities({ db, clock, ids, provider: createSimulatedPaymentProvider({ db, ids }) });
 */
export function createPaymentActivities(deps: ActivityDeps & { provider: PaymentProvider }) {
  const { db, provider } = deps;
  const outbox = { ...deps, source: '/checkout-saga/payments' };

  async function recordCharged(tx: Tx, order: LockedOrder, chargeId: string, at: Date): Promise<void> {
    await tx.query(
      `INSERT INTO payments (order_id, status, amount_cents, currency, provider_charge_id, created_at, updated_at)
       VALUES ($1, 'CHARGED', $2, $3, $4, $5, $5)`,
      [order.id, order.totalCents, order.currency, chargeId, at],
    );
    await appendEvent(tx, outbox, {
      orderId: order.id,
      traceparent: order.traceparent,
      event: {
        type: 'payments.payment.charged',
        dataversion: 1,
        data: {
          orderId: order.id,
          paymentId: chargeId,
          amountCents: order.totalCents,
          currency: order.currency,
          chargedAt: at.toISOString(),
        },
      },
    });
  }

  /** Records a definitive provider outcome with its event, unless a retry already recorded one. */
  function record(orderId: string, result: ConfirmResult): Promise<ChargeOutcome> {
    return withTransaction(db, async (tx): Promise<ChargeOutcome> => {
      const locked = await lockOrder(tx, orderId);
      const prior = await paymentOf(tx, locked.id);
      if (prior) return settled(prior);
      const now = deps.clock.now();
      if (result.status === 'charged') {
        await recordCharged(tx, locked, result.chargeId, now);
        return { kind: 'charged', paymentId: result.chargeId };
      }
      if (result.status === 'voided') {
        await tx.query(
          `INSERT INTO payments (order_id, status, amount_cents, currency, created_at, updated_at) VALUES ($1, 'VOIDED', 0, $2, $3, $3)`,
          [locked.id, locked.currency, now],
        );
        return { kind: 'compensated' };
      }
      await tx.query(
        `INSERT INTO payments (order_id, status, amount_cents, currency, decline_reason, created_at, updated_at)
         VALUES ($1, 'DECLINED', $2, $3, $4, $5, $5)`,
        [locked.id, locked.totalCents, locked.currency, result.reason, now],
      );
      await appendEvent(tx, outbox, {
        orderId: locked.id,
        traceparent: locked.traceparent,
        event: {
          type: 'payments.payment.declined',
          dataversion: 1,
          data: {
            orderId: locked.id,
            amountCents: locked.totalCents,
            currency: locked.currency,
            reason: result.reason,
            declinedAt: now.toISOString(),
          },
        },
      });
      return { kind: 'declined', reason: result.reason };
    });
  }

  function finish(orderId: string, outcome: ChargeOutcome, amountCents: number): ChargeStepResult {
    if (outcome.kind === 'declined')
      throw new PaymentDeclinedError(`payment declined: ${outcome.reason}`, { reason: outcome.reason });
    if (outcome.kind === 'compensated')
      throw new StepAlreadyCompensatedError(`payment of order ${orderId} was already refunded or voided`);
    return { status: 'charged', paymentId: outcome.paymentId, amountCents };
  }

  async function priorOf(orderId: string) {
    return withTransaction(db, async (tx) => {
      const locked = await lockOrder(tx, orderId);
      return { locked, prior: await paymentOf(tx, locked.id) };
    });
  }

  return {
    /**
     * Charges the order total once. PAYMENT_DECLINED is non-retryable; provider hiccups are
     * retried. A card that needs the customer's confirmation (3-D Secure) returns
     * `requires_confirmation` and records nothing yet: the saga waits, then calls `confirmPayment`.
     */
    async chargePayment(input: { orderId: string }): Promise<ChargeStepResult | { status: 'requires_confirmation' }> {
      return atBoundary(async () => {
        const { locked, prior } = await priorOf(input.orderId);
        if (prior) return finish(input.orderId, settled(prior), locked.totalCents);
        const result = await provider.charge({
          idempotencyKey: chargeKey(input.orderId),
          method: locked.paymentMethod,
          amountCents: locked.totalCents,
          currency: locked.currency,
        });
        if (result.status === 'requires_confirmation') return { status: 'requires_confirmation' as const };
        return finish(input.orderId, await record(input.orderId, result), locked.totalCents);
      });
    },

    /**
     * Completes a charge that waited for the customer: approved charges it, refused declines it
     * (PAYMENT_DECLINED). Same idempotency key as the charge, so a retry changes nothing.
     */
    async confirmPayment(input: { orderId: string; approved: boolean }): Promise<ChargeStepResult> {
      return atBoundary(async () => {
        const { locked, prior } = await priorOf(input.orderId);
        if (prior) return finish(input.orderId, settled(prior), locked.totalCents);
        const result = await provider.confirm({ idempotencyKey: chargeKey(input.orderId), approved: input.approved });
        return finish(input.orderId, await record(input.orderId, result), locked.totalCents);
      });
    },

    /**
     * Refunds the order's charge. Asks the provider even when no charge is on record, because a
     * charge may have gone through with the worker dying before recording it; the provider then
     * refunds it, or closes the key so a late charge attempt cannot succeed.
     */
    async refundPayment(input: { orderId: string }): Promise<{ refunded: boolean; amountCents: number }> {
      return atBoundary(async () => {
        const prior = await withTransaction(db, async (tx) => paymentOf(tx, (await lockOrder(tx, input.orderId)).id));
        if (prior && prior.status !== 'CHARGED') {
          return {
            refunded: prior.status === 'REFUNDED',
            amountCents: prior.status === 'REFUNDED' ? Number(prior.amount_cents) : 0,
          };
        }
        const result = await provider.refund({ idempotencyKey: chargeKey(input.orderId) });
        return withTransaction(db, async (tx) => {
          const order = await lockOrder(tx, input.orderId);
          const current = await paymentOf(tx, order.id);
          const now = deps.clock.now();
          if (result.status === 'voided') {
            if (!current) {
              await tx.query(
                `INSERT INTO payments (order_id, status, amount_cents, currency, created_at, updated_at) VALUES ($1, 'VOIDED', 0, $2, $3, $3)`,
                [order.id, order.currency, now],
              );
            } else if (current.status === 'DECLINED') {
              await tx.query(`UPDATE payments SET status = 'VOIDED', updated_at = $2 WHERE order_id = $1`, [
                order.id,
                now,
              ]);
            }
            return { refunded: false, amountCents: 0 };
          }
          if (current?.status === 'REFUNDED') return { refunded: true, amountCents: Number(current.amount_cents) };
          if (!current) await recordCharged(tx, order, result.chargeId, now);
          await tx.query(`UPDATE payments SET status = 'REFUNDED', updated_at = $2 WHERE order_id = $1`, [
            order.id,
            now,
          ]);
          await appendEvent(tx, outbox, {
            orderId: order.id,
            traceparent: order.traceparent,
            event: {
              type: 'payments.payment.refunded',
              dataversion: 1,
              data: {
                orderId: order.id,
                paymentId: result.chargeId,
                amountCents: result.amountCents,
                currency: order.currency,
                refundedAt: now.toISOString(),
              },
            },
          });
          return { refunded: true, amountCents: result.amountCents };
        });
      });
    },
  };
}
