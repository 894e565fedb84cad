import { TransientProviderError } from '../../domain/errors';
import type { Db, Tx } from '../../lib/db';
import { withTransaction } from '../../lib/db';
import type { Ids } from '../../lib/runtime';

export interface ChargeRequest {
  /** Same key on every retry of one order's charge: the provider charges at most once per key. */
  idempotencyKey: string;
  method: string;
  amountCents: number;
  currency: string;
}

export type ChargeResult =
  | { status: 'charged'; chargeId: string }
  | { status: 'declined'; reason: string }
  /** The key was refunded or voided before this charge arrived: nothing was charged. */
  | { status: 'voided' }
  /** The card needs the customer's confirmation (3-D Secure); call `confirm` with their answer. */
  | { status: 'requires_confirmation' };

/** Outcome of a confirmation: the same shapes as a charge, once the customer has answered. */
export type ConfirmResult = Exclude<ChargeResult, { status: 'requires_confirmation' }>;

export type RefundResult =
  | { status: 'refunded'; chargeId: string; amountCents: number }
  /** Nothing had been charged under this key; the key is now closed to later charges. */
  | { status: 'voided' };

/**
 * A card payment provider. A real one (Stripe, Adyen...) replaces the simulation behind this
 * interface; it must honour idempotency keys and let a refund close a key to later charges.
 */
export interface PaymentProvider {
  /**
   * Whether the provider can charge this payment-method token (a real provider looks it up). The
   * checkout asks when an order is placed, so an unknown method is refused before any saga starts.
   */
  acceptsMethod(method: string): Promise<boolean>;
  /** @throws TransientProviderError when the provider is briefly unavailable (safe to retry). */
  charge(req: ChargeRequest): Promise<ChargeResult>;
  /** Completes a charge that required confirmation; idempotent per key like `charge`. */
  confirm(req: { idempotencyKey: string; approved: boolean }): Promise<ConfirmResult>;
  /** Refunds a charge, or voids a pending or absent one (closing the key to later charges). */
  refund(req: { idempotencyKey: string }): Promise<RefundResult>;
}

interface ChargeRow {
  status: 'PENDING' | 'CHARGED' | 'DECLINED' | 'REFUNDED' | 'VOIDED';
  method: string;
  charge_id: string | null;
  amount_cents: string;
  attempts: number;
}

/** The payment-method tokens the simulated provider knows (`docs/CONTRACT.md`). */
export const SIMULATED_PAYMENT_METHODS: ReadonlySet<string> = new Set([
  'pm_card_visa',
  'pm_card_declined',
  'pm_card_3ds',
  'pm_card_flaky',
]);

/** What a key that already has an outcome answers on every later call; undefined while PENDING. */
function settledResult(row: ChargeRow, declineReason: string): ConfirmResult | undefined {
  switch (row.status) {
    case 'CHARGED':
    case 'REFUNDED':
      return { status: 'charged', chargeId: row.charge_id ?? '' };
    case 'DECLINED':
      return { status: 'declined', reason: declineReason };
    case 'VOIDED':
      return { status: 'voided' };
    case 'PENDING':
      return undefined;
  }
}

/**
 * The simulated provider of CONTRACT.md: `pm_card_visa` approves, `pm_card_declined` declines,
 * `pm_card_flaky` fails twice transiently then approves; `pm_card_3ds` requires the customer's
 * confirmation (approved: charged; refused: declined `authentication_failed`); it accepts no
 * other token (and would decline one that reached it).
 * Its ledger lives in `sim_provider_charges`, written in its own transactions as a third party's would be.
 *
 * @example
 * const provider = createSimulatedPaymentProvider({ db, ids });
 * await provider.charge({ idempotencyKey: 'order:42:charge', method: 'pm_card_visa', amountCents: 500, currency: 'USD' });
 */
export function createSimulatedPaymentProvider(deps: { db: Db; ids: Ids }): PaymentProvider {
  const { db, ids } = deps;
  /** Charges a pending key with a new charge id. */
  async function capture(tx: Tx, key: string): Promise<{ status: 'charged'; chargeId: string }> {
    const chargeId = `ch_${ids.hex(12)}`;
    await tx.query(
      `UPDATE sim_provider_charges SET status = 'CHARGED', charge_id = $2, updated_at = now() WHERE idempotency_key = $1`,
      [key, chargeId],
    );
    return { status: 'charged', chargeId };
  }
  return {
    async acceptsMethod(method) {
      return SIMULATED_PAYMENT_METHODS.has(method);
    },

    async charge(req) {
      const outcome = await withTransaction(db, async (tx): Promise<ChargeResult | 'transient'> => {
        await tx.query(
          `INSERT INTO sim_provider_charges (idempotency_key, method, amount_cents, currency, status)
           VALUES ($1, $2, $3, $4, 'PENDING') ON CONFLICT (idempotency_key) DO NOTHING`,
          [req.idempotencyKey, req.method, req.amountCents, req.currency],
        );
        const { rows } = await tx.query<ChargeRow>(
          `UPDATE sim_provider_charges SET attempts = attempts + 1, updated_at = now()
           WHERE idempotency_key = $1 RETURNING status, method, charge_id, amount_cents, attempts`,
          [req.idempotencyKey],
        );
        const row = rows[0];
        if (!row) throw new Error('provider ledger row vanished');
        const settled = settledResult(row, 'card_declined');
        if (settled) return settled;
        if (row.method === 'pm_card_flaky' && row.attempts <= 2) return 'transient';
        if (row.method === 'pm_card_3ds') return { status: 'requires_confirmation' };
        if (row.method === 'pm_card_visa' || row.method === 'pm_card_flaky') {
          return capture(tx, req.idempotencyKey);
        }
        await tx.query(`UPDATE sim_provider_charges SET status = 'DECLINED' WHERE idempotency_key = $1`, [
          req.idempotencyKey,
        ]);
        return {
          status: 'declined',
          reason: row.method === 'pm_card_declined' ? 'card_declined' : 'unknown_payment_method',
        };
      });
      // The attempt is counted (committed) before failing, as a real flaky upstream would see it.
      if (outcome === 'transient') throw new TransientProviderError('payment provider temporarily unavailable');
      return outcome;
    },

    async confirm(req) {
      return withTransaction(db, async (tx): Promise<ConfirmResult> => {
        const { rows } = await tx.query<ChargeRow>(
          `SELECT status, method, charge_id, amount_cents, attempts FROM sim_provider_charges WHERE idempotency_key = $1 FOR UPDATE`,
          [req.idempotencyKey],
        );
        const row = rows[0];
        if (!row) throw new Error(`no charge to confirm under ${req.idempotencyKey}`);
        const settled = settledResult(row, 'authentication_failed');
        if (settled) return settled;
        if (req.approved) {
          return capture(tx, req.idempotencyKey);
        }
        await tx.query(
          `UPDATE sim_provider_charges SET status = 'DECLINED', updated_at = now() WHERE idempotency_key = $1`,
          [req.idempotencyKey],
        );
        return { status: 'declined', reason: 'authentication_failed' };
      });
    },

    async refund(req) {
      return withTransaction(db, async (tx): Promise<RefundResult> => {
        const { rows } = await tx.query<ChargeRow>(
          `SELECT status, method, charge_id, amount_cents, attempts FROM sim_provider_charges WHERE idempotency_key = $1 FOR UPDATE`,
          [req.idempotencyKey],
        );
        const row = rows[0];
        if (!row) {
          await tx.query(
            `INSERT INTO sim_provider_charges (idempotency_key, method, amount_cents, currency, status)
             VALUES ($1, '', 0, 'XXX', 'VOIDED')`,
            [req.idempotencyKey],
          );
          return { status: 'voided' };
        }
        if (row.status === 'CHARGED' || row.status === 'REFUNDED') {
          await tx.query(
            `UPDATE sim_provider_charges SET status = 'REFUNDED', updated_at = now() WHERE idempotency_key = $1`,
            [req.idempotencyKey],
          );
          return { status: 'refunded', chargeId: row.charge_id ?? '', amountCents: Number(row.amount_cents) };
        }
        await tx.query(
          `UPDATE sim_provider_charges SET status = 'VOIDED', updated_at = now() WHERE idempotency_key = $1`,
          [req.idempotencyKey],
        );
        return { status: 'voided' };
      });
    },
  };
}
