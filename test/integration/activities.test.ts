import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities, type CheckoutActivities } from '../../activities';
import { createSimulatedCarrier } from '../../activities/providers/carrier';
import { createSimulatedPaymentProvider } from '../../activities/providers/payment-provider';
import type { Db } from '../../lib/db';
import { randomIds, systemClock } from '../../lib/runtime';
import { freshSku, insertOrder, outboxSubjects, stockOf, testConfig, testDb } from '../support/services';

/** Runs an activity the way Temporal retries it: call again after a failure, up to `max` times. */
async function withRetries<T>(fn: () => Promise<T>, max = 5): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= max || (err instanceof ApplicationFailure && err.nonRetryable)) throw err;
    }
  }
}

describe('activities against real Postgres', () => {
  let db: Db;
  let acts: CheckoutActivities;

  before(async () => {
    db = await testDb(testConfig());
    acts = createActivities({
      db,
      clock: systemClock,
      ids: randomIds,
      provider: createSimulatedPaymentProvider({ db, ids: randomIds }),
      carrier: createSimulatedCarrier({ db, ids: randomIds }),
    });
  });
  after(async () => {
    await db?.end();
  });

  it('reserveStock retried after commit has one effect and one outbox row', async () => {
    const sku = await freshSku(db, 10);
    const orderId = await insertOrder(db, { items: [{ sku, quantity: 3, unitPriceCents: 100 }] });
    const first = await acts.reserveStock({ orderId });
    const second = await acts.reserveStock({ orderId });
    assert.deepEqual(second, first);
    assert.deepEqual(await stockOf(db, sku), { available: 7, reserved: 3, shipped: 0 });
    assert.deepEqual(await outboxSubjects(db, orderId), ['inventory.stock.reserved']);
  });

  it('concurrent attempts of one step still reserve once', async () => {
    const sku = await freshSku(db, 10);
    const orderId = await insertOrder(db, { items: [{ sku, quantity: 2, unitPriceCents: 100 }] });
    await Promise.all([acts.reserveStock({ orderId }), acts.reserveStock({ orderId }), acts.reserveStock({ orderId })]);
    assert.deepEqual(await stockOf(db, sku), { available: 8, reserved: 2, shipped: 0 });
    assert.deepEqual(await outboxSubjects(db, orderId), ['inventory.stock.reserved']);
  });

  it('out of stock reserves nothing, is non-retryable, and records one reservation_failed event', async () => {
    const sku = await freshSku(db, 1);
    const orderId = await insertOrder(db, { items: [{ sku, quantity: 2, unitPriceCents: 100 }] });
    for (let i = 0; i < 2; i += 1) {
      await assert.rejects(
        acts.reserveStock({ orderId }),
        (err: unknown) => err instanceof ApplicationFailure && err.type === 'OUT_OF_STOCK' && err.nonRetryable,
      );
    }
    assert.deepEqual(await stockOf(db, sku), { available: 1, reserved: 0, shipped: 0 });
    assert.deepEqual(await outboxSubjects(db, orderId), ['inventory.stock.reservation_failed']);
  });

  it('pm_card_flaky: two transient failures, then exactly one charge at the provider', async () => {
    const orderId = await insertOrder(db, { paymentMethod: 'pm_card_flaky' });
    await acts.reserveStock({ orderId });
    const errors: unknown[] = [];
    const result = await withRetries(async () => {
      try {
        return await acts.chargePayment({ orderId });
      } catch (err) {
        errors.push(err);
        throw err;
      }
    });
    assert.equal(errors.length, 2);
    assert.ok(
      errors.every((e) => e instanceof ApplicationFailure && e.type === 'TRANSIENT_PROVIDER_ERROR' && !e.nonRetryable),
    );
    assert.ok(result.status === 'charged');
    assert.match(result.paymentId, /^ch_/);
    await acts.chargePayment({ orderId });
    const { rows } = await db.query('SELECT status FROM sim_provider_charges WHERE idempotency_key = $1', [
      `order:${orderId}:charge`,
    ]);
    assert.deepEqual(rows, [{ status: 'CHARGED' }]);
    assert.deepEqual(await outboxSubjects(db, orderId), ['inventory.stock.reserved', 'payments.payment.charged']);
  });

  it('pm_card_3ds: charge asks for confirmation and records nothing; approved charges once, refused declines', async () => {
    for (const approved of [true, false]) {
      const orderId = await insertOrder(db, { paymentMethod: 'pm_card_3ds' });
      await acts.reserveStock({ orderId });
      assert.deepEqual(await acts.chargePayment({ orderId }), { status: 'requires_confirmation' });
      assert.deepEqual(
        await acts.chargePayment({ orderId }),
        { status: 'requires_confirmation' },
        'a retried charge asks again',
      );
      assert.deepEqual(await outboxSubjects(db, orderId), ['inventory.stock.reserved']);
      if (approved) {
        const first = await acts.confirmPayment({ orderId, approved });
        const again = await acts.confirmPayment({ orderId, approved });
        assert.deepEqual(again, first, 'a retried confirmation repeats the outcome');
        assert.deepEqual(await outboxSubjects(db, orderId), ['inventory.stock.reserved', 'payments.payment.charged']);
      } else {
        await assert.rejects(
          acts.confirmPayment({ orderId, approved }),
          (e: unknown) => e instanceof ApplicationFailure && e.type === 'PAYMENT_DECLINED',
        );
        assert.deepEqual(await outboxSubjects(db, orderId), ['inventory.stock.reserved', 'payments.payment.declined']);
      }
    }
  });

  it('pm_card_3ds never confirmed: refundPayment voids the pending authorisation, and a late confirmation cannot charge', async () => {
    const orderId = await insertOrder(db, { paymentMethod: 'pm_card_3ds' });
    assert.deepEqual(await acts.chargePayment({ orderId }), { status: 'requires_confirmation' });
    assert.deepEqual(await acts.refundPayment({ orderId }), { refunded: false, amountCents: 0 });
    await assert.rejects(
      acts.confirmPayment({ orderId, approved: true }),
      (e: unknown) => e instanceof ApplicationFailure && e.type === 'STEP_ALREADY_COMPENSATED',
    );
    const { rows } = await db.query('SELECT status FROM sim_provider_charges WHERE idempotency_key = $1', [
      `order:${orderId}:charge`,
    ]);
    assert.deepEqual(rows, [{ status: 'VOIDED' }]);
    assert.deepEqual(await outboxSubjects(db, orderId), []);
  });

  it('pm_card_declined is non-retryable and emits one declined event', async () => {
    const orderId = await insertOrder(db, { paymentMethod: 'pm_card_declined' });
    for (let i = 0; i < 2; i += 1) {
      await assert.rejects(
        acts.chargePayment({ orderId }),
        (err: unknown) => err instanceof ApplicationFailure && err.type === 'PAYMENT_DECLINED' && err.nonRetryable,
      );
    }
    assert.deepEqual(await outboxSubjects(db, orderId), ['payments.payment.declined']);
  });

  it('a refund before the charge closes the key: a late charge attempt cannot take effect', async () => {
    const orderId = await insertOrder(db);
    const refund = await acts.refundPayment({ orderId });
    assert.deepEqual(refund, { refunded: false, amountCents: 0 });
    await assert.rejects(
      acts.chargePayment({ orderId }),
      (err: unknown) => err instanceof ApplicationFailure && err.type === 'STEP_ALREADY_COMPENSATED',
    );
    assert.deepEqual(await outboxSubjects(db, orderId), []);
  });

  it('a charge the worker never recorded is found and refunded by the compensation', async () => {
    const orderId = await insertOrder(db);
    // The provider charged, then the worker died before its recording transaction.
    const provider = createSimulatedPaymentProvider({ db, ids: randomIds });
    await provider.charge({
      idempotencyKey: `order:${orderId}:charge`,
      method: 'pm_card_visa',
      amountCents: 500,
      currency: 'USD',
    });
    const refund = await acts.refundPayment({ orderId });
    assert.deepEqual(refund, { refunded: true, amountCents: 500 });
    assert.deepEqual(await acts.refundPayment({ orderId }), { refunded: true, amountCents: 500 });
    assert.deepEqual(await outboxSubjects(db, orderId), ['payments.payment.charged', 'payments.payment.refunded']);
  });

  it('ships, then compensates in reverse: stock goes back exactly where it started', async () => {
    const sku = await freshSku(db, 5);
    const orderId = await insertOrder(db, { items: [{ sku, quantity: 2, unitPriceCents: 100 }] });
    await acts.reserveStock({ orderId });
    await acts.chargePayment({ orderId });
    await acts.shipOrder({ orderId });
    assert.deepEqual(await stockOf(db, sku), { available: 3, reserved: 0, shipped: 2 });
    await acts.cancelShipment({ orderId });
    await acts.cancelShipment({ orderId });
    await acts.refundPayment({ orderId });
    await acts.releaseStock({ orderId });
    await acts.releaseStock({ orderId });
    assert.deepEqual(await stockOf(db, sku), { available: 5, reserved: 0, shipped: 0 });
    assert.deepEqual(await outboxSubjects(db, orderId), [
      'inventory.stock.reserved',
      'payments.payment.charged',
      'shipping.shipment.created',
      'shipping.shipment.cancelled',
      'payments.payment.refunded',
      'inventory.stock.released',
    ]);
  });

  it('an unshippable destination fails SHIPPING_UNAVAILABLE without moving stock', async () => {
    const sku = await freshSku(db, 5);
    const orderId = await insertOrder(db, { items: [{ sku, quantity: 1, unitPriceCents: 100 }], country: 'AQ' });
    await acts.reserveStock({ orderId });
    await assert.rejects(
      acts.shipOrder({ orderId }),
      (err: unknown) => err instanceof ApplicationFailure && err.type === 'SHIPPING_UNAVAILABLE' && err.nonRetryable,
    );
    assert.deepEqual(await stockOf(db, sku), { available: 4, reserved: 1, shipped: 0 });
  });

  it('finalizeOrder sets the outcome once and emits one event', async () => {
    const orderId = await insertOrder(db);
    assert.deepEqual(await acts.finalizeOrder({ orderId, outcome: { status: 'COMPLETED' }, steps: [] }), {
      changed: true,
    });
    assert.deepEqual(await acts.finalizeOrder({ orderId, outcome: { status: 'COMPLETED' }, steps: [] }), {
      changed: false,
    });
    assert.deepEqual(await outboxSubjects(db, orderId), ['checkout.order.completed']);
  });
});
