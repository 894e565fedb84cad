import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../domain/errors';
import type { CheckoutInput, CheckoutState } from '../../domain/order';
import { cancelUpdate, confirmPaymentUpdate, getStateQuery, type checkoutSaga } from '../../workflows/checkout-saga';
import { businessFailure, sagaInput, withSaga as runWithSaga, type Script } from '../support/saga-harness';
import { timeSkippingSuite } from '../support/test-env';

const input = (country = 'DE') =>
  sagaInput({ orderId: randomUUID(), shippingAddress: { name: 'A', line1: 'B', city: 'C', postalCode: '1', country } });

describe('checkoutSaga (time-skipping, mocked activities)', () => {
  const suite = timeSkippingSuite();

  const withSaga = <T>(
    script: Script,
    args: CheckoutInput,
    body: (handle: WorkflowHandle<typeof checkoutSaga>) => Promise<T>,
  ) => runWithSaga(suite.env, script, args, body);

  async function runSaga(
    script: Script,
    args = input(),
  ): Promise<{ state: CheckoutState; calls: string[]; queried: CheckoutState }> {
    const { value, calls } = await withSaga(script, args, async (handle) => ({
      state: await handle.result(),
      queried: await handle.query(getStateQuery),
    }));
    return { ...value, calls };
  }

  it('completes the happy path with each forward step once, in order', async () => {
    const { state, calls, queried } = await runSaga({});
    assert.equal(state.status, 'COMPLETED');
    assert.equal(state.failureReason, undefined);
    assert.deepEqual(calls, ['reserveStock', 'chargePayment', 'shipOrder', 'finalizeOrder:COMPLETED']);
    assert.deepEqual(
      state.steps.map((s) => `${s.name}:${s.state}`),
      ['reserveStock:COMPLETED', 'chargePayment:COMPLETED', 'shipOrder:COMPLETED'],
    );
    assert.deepEqual(queried, state, 'getState returns the same state as the result');
  });

  it('fails OUT_OF_STOCK with nothing to compensate', async () => {
    const { state, calls } = await runSaga({ reserveStock: businessFailure(ErrorType.OUT_OF_STOCK) });
    assert.equal(state.status, 'FAILED');
    assert.equal(state.failureReason, 'OUT_OF_STOCK');
    assert.deepEqual(calls, ['reserveStock', 'finalizeOrder:FAILED:OUT_OF_STOCK']);
    assert.deepEqual(
      state.steps.map((s) => `${s.name}:${s.state}`),
      ['reserveStock:FAILED', 'chargePayment:SKIPPED', 'shipOrder:SKIPPED'],
    );
  });

  it('fails PAYMENT_DECLINED and releases the stock it reserved', async () => {
    const { state, calls } = await runSaga({ chargePayment: businessFailure(ErrorType.PAYMENT_DECLINED) });
    assert.equal(state.status, 'FAILED');
    assert.equal(state.failureReason, 'PAYMENT_DECLINED');
    assert.deepEqual(calls, ['reserveStock', 'chargePayment', 'releaseStock', 'finalizeOrder:FAILED:PAYMENT_DECLINED']);
  });

  it('fails SHIPPING_UNAVAILABLE and compensates payment then stock, in reverse order', async () => {
    const { state, calls } = await runSaga({ shipOrder: businessFailure(ErrorType.SHIPPING_UNAVAILABLE) }, input('AQ'));
    assert.equal(state.status, 'FAILED');
    assert.equal(state.failureReason, 'SHIPPING_UNAVAILABLE');
    assert.deepEqual(calls, [
      'reserveStock',
      'chargePayment',
      'shipOrder',
      'refundPayment',
      'releaseStock',
      'finalizeOrder:FAILED:SHIPPING_UNAVAILABLE',
    ]);
    assert.deepEqual(
      state.steps.map((s) => `${s.kind}:${s.name}:${s.state}`),
      [
        'FORWARD:reserveStock:COMPLETED',
        'FORWARD:chargePayment:COMPLETED',
        'FORWARD:shipOrder:FAILED',
        'COMPENSATION:refundPayment:COMPLETED',
        'COMPENSATION:releaseStock:COMPLETED',
      ],
    );
  });

  it('retries a transient step failure and still charges through one step', async () => {
    let attempts = 0;
    const { state, calls } = await runSaga({
      chargePayment: async () => {
        attempts += 1;
        if (attempts <= 2)
          throw ApplicationFailure.create({ type: ErrorType.TRANSIENT_PROVIDER_ERROR, message: 'flaky' });
        return { paymentId: 'ch_1', amountCents: 1000 };
      },
    });
    assert.equal(state.status, 'COMPLETED');
    assert.equal(attempts, 3);
    assert.deepEqual(calls, [
      'reserveStock',
      'chargePayment',
      'chargePayment',
      'chargePayment',
      'shipOrder',
      'finalizeOrder:COMPLETED',
    ]);
  });

  describe('a step failing unexpectedly (not a business failure)', () => {
    let outcome: { calls: string[]; state: CheckoutState; failure: unknown };
    before(async () => {
      const { value, calls } = await withSaga(
        { shipOrder: businessFailure(ErrorType.STEP_ALREADY_COMPENSATED) },
        input(),
        async (handle) => {
          const failure = await handle.result().then(
            () => undefined,
            (err: unknown) => err,
          );
          return { failure, state: await handle.query(getStateQuery) };
        },
      );
      outcome = { ...value, calls };
    });

    it('compensates every step that may have happened, then finalizes the order FAILED with INTERNAL_ERROR', () => {
      assert.deepEqual(outcome.calls, [
        'reserveStock',
        'chargePayment',
        'shipOrder',
        'cancelShipment',
        'refundPayment',
        'releaseStock',
        'finalizeOrder:FAILED:INTERNAL_ERROR',
      ]);
    });

    it('ends FAILED with failureReason INTERNAL_ERROR in its state', () => {
      assert.equal(outcome.state.status, 'FAILED');
      assert.equal(outcome.state.failureReason, 'INTERNAL_ERROR');
    });

    it('still fails the execution, so an operator sees it in the Web UI', () => {
      assert.ok(outcome.failure instanceof WorkflowFailedError, `the result rejects (${String(outcome.failure)})`);
    });
  });

  it('an order cancelled before its saga started: the first step does nothing, nothing is undone, CANCELLED', async () => {
    const { state, calls } = await runSaga({ reserveStock: businessFailure(ErrorType.ORDER_CANCELLED_BEFORE_START) });
    assert.equal(state.status, 'CANCELLED');
    assert.equal(state.failureReason, undefined);
    assert.deepEqual(calls, ['reserveStock', 'finalizeOrder:CANCELLED']);
    assert.deepEqual(
      state.steps.map((s) => `${s.name}:${s.state}`),
      ['reserveStock:FAILED', 'chargePayment:SKIPPED', 'shipOrder:SKIPPED'],
    );
  });

  /** A promise the test resolves when it wants a mocked activity to finish. */
  function gate(): { wait: () => Promise<void>; open: () => void } {
    let open: () => void = () => undefined;
    const p = new Promise<void>((resolve) => {
      open = resolve;
    });
    return { wait: () => p, open };
  }

  async function statusReaches(
    handle: WorkflowHandle<typeof checkoutSaga>,
    status: string,
    step?: { name: string; state: string },
  ): Promise<void> {
    for (let i = 0; i < 200; i += 1) {
      const s = await handle.query(getStateQuery);
      if (s.status === status && (!step || s.steps.some((x) => x.name === step.name && x.state === step.state))) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail(`status never reached ${status}`);
  }

  /** The update was rejected by the workflow's validator with a message matching `pattern`. */
  const rejectedWith = (pattern: RegExp) => (err: unknown) =>
    err instanceof WorkflowUpdateFailedError && pattern.test(err.cause?.message ?? '');

  const threeDs = { chargePayment: async () => ({ status: 'requires_confirmation' }) };
  const threeDsInput = () => sagaInput({ orderId: randomUUID(), paymentMethod: 'pm_card_3ds' });

  it('3-D Secure approved: waits AWAITING_PAYMENT_CONFIRMATION, then confirms and completes', async () => {
    const { value, calls } = await withSaga(threeDs, threeDsInput(), async (handle) => {
      await statusReaches(handle, 'AWAITING_PAYMENT_CONFIRMATION');
      const during = await handle.executeUpdate(confirmPaymentUpdate, { args: [{ approved: true }] });
      assert.equal(during.status, 'AWAITING_PAYMENT_CONFIRMATION');
      return handle.result();
    });
    assert.equal(value.status, 'COMPLETED');
    assert.deepEqual(calls, [
      'reserveStock',
      'chargePayment',
      'confirmPayment:true',
      'shipOrder',
      'finalizeOrder:COMPLETED',
    ]);
  });

  it('3-D Secure refused: FAILED PAYMENT_DECLINED, stock released, nothing to refund', async () => {
    const { value, calls } = await withSaga(
      { ...threeDs, confirmPayment: businessFailure(ErrorType.PAYMENT_DECLINED) },
      threeDsInput(),
      async (handle) => {
        await statusReaches(handle, 'AWAITING_PAYMENT_CONFIRMATION');
        await handle.executeUpdate(confirmPaymentUpdate, { args: [{ approved: false }] });
        return handle.result();
      },
    );
    assert.equal(value.status, 'FAILED');
    assert.equal(value.failureReason, 'PAYMENT_DECLINED');
    assert.deepEqual(calls, [
      'reserveStock',
      'chargePayment',
      'confirmPayment:false',
      'releaseStock',
      'finalizeOrder:FAILED:PAYMENT_DECLINED',
    ]);
  });

  it('3-D Secure never answered: after the default 15 minutes (skipped) FAILED PAYMENT_CONFIRMATION_TIMEOUT, authorisation voided', async () => {
    const { value: state, calls } = await withSaga(threeDs, threeDsInput(), (handle) => handle.result());
    assert.equal(state.status, 'FAILED');
    assert.equal(state.failureReason, 'PAYMENT_CONFIRMATION_TIMEOUT');
    const charge = state.steps.find((s) => s.name === 'chargePayment');
    const waitedMs = Date.parse(charge?.finishedAt ?? '') - Date.parse(charge?.startedAt ?? '');
    assert.ok(waitedMs >= 15 * 60_000, `the durable timer ran its full 15 minutes of workflow time (${waitedMs} ms)`);
    assert.deepEqual(calls, [
      'reserveStock',
      'chargePayment',
      'refundPayment',
      'releaseStock',
      'finalizeOrder:FAILED:PAYMENT_CONFIRMATION_TIMEOUT',
    ]);
  });

  it('a confirmation when none is awaited is rejected by the validator and changes nothing', async () => {
    const shipping = gate();
    const { value } = await withSaga({ shipOrder: async () => shipping.wait() }, input(), async (handle) => {
      try {
        await statusReaches(handle, 'SHIPPING');
        await assert.rejects(
          handle.executeUpdate(confirmPaymentUpdate, { args: [{ approved: true }] }),
          rejectedWith(/not awaiting payment confirmation/),
        );
      } finally {
        shipping.open();
      }
      return handle.result();
    });
    assert.equal(value.status, 'COMPLETED');
  });

  const cancelCases = [
    {
      title: 'while reserving stock',
      block: 'reserveStock' as const,
      status: 'RESERVING_STOCK',
      undo: ['releaseStock'],
    },
    {
      title: 'while charging',
      block: 'chargePayment' as const,
      status: 'CHARGING_PAYMENT',
      undo: ['refundPayment', 'releaseStock'],
    },
    {
      title: 'while shipping',
      block: 'shipOrder' as const,
      status: 'SHIPPING',
      undo: ['cancelShipment', 'refundPayment', 'releaseStock'],
    },
  ];
  for (const c of cancelCases) {
    it(`cancel ${c.title}: accepted, the running step's possible effect and every earlier one compensated, CANCELLED`, async () => {
      const blocked = gate();
      const { value, calls } = await withSaga({ [c.block]: async () => blocked.wait() }, input(), async (handle) => {
        try {
          await statusReaches(handle, c.status, { name: c.block, state: 'RUNNING' });
          const accepted = await handle.executeUpdate(cancelUpdate);
          assert.equal(accepted.status, c.status);
        } finally {
          blocked.open();
        }
        return handle.result();
      });
      assert.equal(value.status, 'CANCELLED');
      const forward = ['reserveStock', 'chargePayment', 'shipOrder'];
      assert.deepEqual(calls, [
        ...forward.slice(0, forward.indexOf(c.block) + 1),
        ...c.undo,
        'finalizeOrder:CANCELLED',
      ]);
      assert.equal(value.steps.find((s) => s.name === c.block)?.detail, 'cancelled');
    });
  }

  it('cancel while awaiting 3-D Secure confirmation: voids the authorisation and releases stock', async () => {
    const { value, calls } = await withSaga(threeDs, threeDsInput(), async (handle) => {
      await statusReaches(handle, 'AWAITING_PAYMENT_CONFIRMATION');
      await handle.executeUpdate(cancelUpdate);
      return handle.result();
    });
    assert.equal(value.status, 'CANCELLED');
    assert.deepEqual(calls, [
      'reserveStock',
      'chargePayment',
      'refundPayment',
      'releaseStock',
      'finalizeOrder:CANCELLED',
    ]);
  });

  it('cancel after the order shipped, and after it ended, is rejected (the API answers 409)', async () => {
    const finalizing = gate();
    const { value } = await withSaga(
      { finalizeOrder: async () => finalizing.wait().then(() => ({ changed: true })) },
      input(),
      async (handle) => {
        try {
          await statusReaches(handle, 'SHIPPING', { name: 'shipOrder', state: 'COMPLETED' });
          await assert.rejects(handle.executeUpdate(cancelUpdate), rejectedWith(/shipped/));
        } finally {
          finalizing.open();
        }
        const done = await handle.result();
        await assert.rejects(handle.executeUpdate(cancelUpdate));
        return done;
      },
    );
    assert.equal(value.status, 'COMPLETED');
  });

  it('a compensation that fails twice then succeeds: retried while COMPENSATING, order FAILED, nothing lost', async () => {
    let refunds = 0;
    const { value, calls } = await withSaga(
      {
        shipOrder: businessFailure(ErrorType.SHIPPING_UNAVAILABLE),
        refundPayment: async () => {
          refunds += 1;
          if (refunds <= 2) throw new Error('provider unavailable');
          return { refunded: true, amountCents: 1000 };
        },
      },
      input('AQ'),
      (handle) => handle.result(),
    );
    assert.equal(value.status, 'FAILED');
    assert.equal(value.failureReason, 'SHIPPING_UNAVAILABLE');
    assert.equal(refunds, 3);
    assert.deepEqual(calls, [
      'reserveStock',
      'chargePayment',
      'shipOrder',
      'refundPayment',
      'refundPayment',
      'refundPayment',
      'releaseStock',
      'finalizeOrder:FAILED:SHIPPING_UNAVAILABLE',
    ]);
  });

  it('a compensation still failing after COMPENSATION_ALERT_AFTER raises the CompensationStuck alert, keeps retrying, then clears it', async () => {
    let refunds = 0;
    const { value } = await withSaga(
      {
        shipOrder: businessFailure(ErrorType.SHIPPING_UNAVAILABLE),
        refundPayment: async () => {
          refunds += 1;
          if (refunds <= 8) throw new Error('provider unavailable');
          return { refunded: true, amountCents: 1000 };
        },
      },
      sagaInput({ orderId: randomUUID(), compensationAlertAfterMs: 60_000 }),
      async (handle) => {
        const state = await handle.result();
        const history = await handle.fetchHistory();
        const flags = (history.events ?? [])
          .map(
            (e) =>
              e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.CompensationStuck?.data,
          )
          .filter((d): d is Uint8Array => d instanceof Uint8Array)
          .map((d) => new TextDecoder().decode(d));
        return { state, flags };
      },
    );
    assert.equal(value.state.status, 'FAILED');
    assert.equal(refunds, 9);
    assert.deepEqual(value.flags, ['true', 'false'], 'raised once, cleared once the compensation succeeded');
  });
});
