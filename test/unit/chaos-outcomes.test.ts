import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedOutcomes } from '../../scripts/chaos/invariants';
import { planOrders, type Intent } from '../../scripts/chaos/plan';
import type { OrderRun } from '../../scripts/chaos/workload';

function run(intent: Intent, extra: Partial<OrderRun> = {}): OrderRun {
  const plan = { ...planOrders(1, 1, 10_000)[0]!, intent };
  return { plan, orderId: 'o-1', placeStatus: 202, unexpected: [], ...extra };
}

describe('chaos checker: the outcomes a client may expect', () => {
  it('a cancel answered 202 must cancel, one answered 409 must not', () => {
    assert.deepEqual(expectedOutcomes(run('cancel', { cancelSent: true, cancelStatus: 202 })), ['CANCELLED']);
    assert.deepEqual(expectedOutcomes(run('cancel', { cancelSent: true, cancelStatus: 409 })), ['COMPLETED']);
  });

  it('a cancel sent but never answered may or may not have taken effect', () => {
    assert.deepEqual(expectedOutcomes(run('cancel', { cancelSent: true })).sort(), ['CANCELLED', 'COMPLETED']);
  });

  it('a 3-D Secure answer sent but never answered allows its outcome or the timeout; never sent, only the timeout', () => {
    assert.deepEqual(expectedOutcomes(run('3ds-approve', { confirmSent: true })).sort(), [
      'COMPLETED',
      'FAILED/PAYMENT_CONFIRMATION_TIMEOUT',
    ]);
    assert.deepEqual(expectedOutcomes(run('3ds-refuse', { confirmSent: true, confirmStatus: 202 })), [
      'FAILED/PAYMENT_DECLINED',
    ]);
    assert.deepEqual(expectedOutcomes(run('3ds-approve')), ['FAILED/PAYMENT_CONFIRMATION_TIMEOUT']);
  });
});
