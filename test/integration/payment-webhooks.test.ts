import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { runSagaWorker } from '../../workers/saga-worker';
import { checkoutRequest, startApi } from '../support/api';
import { RunningComponents } from '../support/components';
import { eventually, freshSku, testConfig, testDb, testLogger } from '../support/services';

/**
 * The payment provider's signed notifications at the real API, with sagas on the Temporal dev
 * server: a 3-D Secure outcome arrives as a webhook instead of a bearer-authenticated call. The
 * test plays the provider, so it signs with node:crypto itself rather than with our signer.
 */

const SERVICE = 'webhook-service-token-0123456789abcdef';
const CURRENT_SECRET = 'whsec-current-0123456789abcdef';
const PREVIOUS_SECRET = 'whsec-previous-0123456789abcdef';

/** `Payment-Signature` as the provider computes it: HMAC-SHA256 of "<t>.<raw body>" per secret. */
function signature(body: string, secrets: string[], at = Date.now()): string {
  const t = Math.floor(at / 1000);
  const v1 = secrets.map((s) => `v1=${createHmac('sha256', s).update(`${t}.${body}`).digest('hex')}`);
  return [`t=${t}`, ...v1].join(',');
}

const notification = (orderId: string, type = 'payment.authentication.succeeded') =>
  JSON.stringify({ id: `evt_${randomUUID()}`, type, created: Math.floor(Date.now() / 1000), data: { orderId } });

describe('payment provider webhooks (POST /webhooks/payments)', () => {
  const components = new RunningComponents();
  let config: Config;
  let db: Db;
  let base = '';
  let sku = '';

  before(async () => {
    config = testConfig({
      PORT: '0',
      API_TOKENS: SERVICE,
      PAYMENT_WEBHOOK_SECRET: `${CURRENT_SECRET},${PREVIOUS_SECRET}`,
    });
    db = await testDb(config);
    sku = await freshSku(db, 1000);
    const logger = testLogger('payment-webhooks');
    const api = startApi(config, logger, components.signal);
    components.add(api.running, runSagaWorker(config, logger, components.signal));
    base = await api.base;
  });

  after(async () => {
    await components.stopAll();
    await db?.end();
  });

  const deliver = (body: string, sig: string | undefined, at = base) =>
    fetch(`${at}/webhooks/payments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(sig === undefined ? {} : { 'Payment-Signature': sig }) },
      body,
    });

  const stateOf = async (orderId: string, at = base) =>
    (await (await fetch(`${at}/checkouts/${orderId}`, { headers: { Authorization: `Bearer ${SERVICE}` } })).json()) as {
      status: string;
      failureReason?: string;
    };

  async function waitForStatus(orderId: string, status: string, at = base): Promise<void> {
    await eventually(
      async () => ((await stateOf(orderId, at)).status === status ? true : undefined),
      45_000,
      `order ${orderId} to reach ${status}`,
    );
  }

  async function waitingOrder(at = base): Promise<string> {
    const res = await fetch(`${at}/checkouts`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${SERVICE}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': randomUUID(),
      },
      body: JSON.stringify(checkoutRequest({ customerId: 'cust-webhook', sku, method: 'pm_card_3ds' })),
    });
    assert.equal(res.status, 202);
    const { orderId } = (await res.json()) as { orderId: string };
    if (at === base) await waitForStatus(orderId, 'AWAITING_PAYMENT_CONFIRMATION');
    return orderId;
  }

  const providerEvent = async (eventId: string) =>
    (
      await db.query<{ deliveries: number; applied_at: Date | null; outcome: string | null }>(
        "SELECT deliveries, applied_at, outcome FROM provider_events WHERE provider = 'payments' AND event_id = $1",
        [eventId],
      )
    ).rows[0];

  const chargedEvents = async (orderId: string) =>
    Number(
      (
        await db.query<{ n: string }>(
          "SELECT count(*) AS n FROM outbox WHERE partition_key = $1 AND subject = 'payments.payment.charged'",
          [orderId],
        )
      ).rows[0]?.n,
    );

  it('a signed 3-D Secure success completes the waiting order', async () => {
    const orderId = await waitingOrder();
    const body = notification(orderId);
    const res = await deliver(body, signature(body, [CURRENT_SECRET]));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { eventId: JSON.parse(body).id, outcome: 'applied', duplicate: false });
    await waitForStatus(orderId, 'COMPLETED');
  });

  it('a signed 3-D Secure failure fails the order PAYMENT_DECLINED', async () => {
    const orderId = await waitingOrder();
    const body = notification(orderId, 'payment.authentication.failed');
    assert.equal((await deliver(body, signature(body, [CURRENT_SECRET]))).status, 200);
    await waitForStatus(orderId, 'FAILED');
    assert.equal((await stateOf(orderId)).failureReason, 'PAYMENT_DECLINED');
  });

  it('the same event delivered twice is applied once: the repeat answers 200 and does nothing', async () => {
    const orderId = await waitingOrder();
    const body = notification(orderId);
    const first = await deliver(body, signature(body, [CURRENT_SECRET]));
    assert.equal(first.status, 200);
    await waitForStatus(orderId, 'COMPLETED');
    const again = await deliver(body, signature(body, [CURRENT_SECRET]));
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), { eventId: JSON.parse(body).id, outcome: 'applied', duplicate: true });
    const recorded = await providerEvent(JSON.parse(body).id);
    assert.equal(recorded?.deliveries, 2);
    assert.equal(recorded?.outcome, 'applied');
    assert.equal(await chargedEvents(orderId), 1);
  });

  it('a wrong signature is 401 and changes nothing', async () => {
    const orderId = await waitingOrder();
    const body = notification(orderId);
    const res = await deliver(body, signature(body, ['whsec-not-ours-0123456789abcdef']));
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('Content-Type'), 'application/problem+json');
    assert.match(res.headers.get('WWW-Authenticate') ?? '', /^Payment-Signature /);
    assert.equal(await providerEvent(JSON.parse(body).id), undefined);
    assert.equal((await stateOf(orderId)).status, 'AWAITING_PAYMENT_CONFIRMATION');
  });

  it('a stale timestamp (6 minutes old) is 401 and changes nothing, though the signature is right', async () => {
    const orderId = await waitingOrder();
    const body = notification(orderId);
    const res = await deliver(body, signature(body, [CURRENT_SECRET], Date.now() - 6 * 60_000));
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as { detail: string }).detail, /timestamp/);
    assert.equal(await providerEvent(JSON.parse(body).id), undefined);
    assert.equal((await stateOf(orderId)).status, 'AWAITING_PAYMENT_CONFIRMATION');
  });

  it('a body changed after signing (even by whitespace) is 401', async () => {
    const orderId = await waitingOrder();
    const body = notification(orderId);
    const res = await deliver(`${body} `, signature(body, [CURRENT_SECRET]));
    assert.equal(res.status, 401);
    assert.equal((await stateOf(orderId)).status, 'AWAITING_PAYMENT_CONFIRMATION');
  });

  it('a request without Payment-Signature is 401 before its body is read as JSON', async () => {
    const res = await deliver('{not json', undefined);
    assert.equal(res.status, 401);
  });

  it('accepts a provider rotating its secret (one v1 per secret) and our previous secret', async () => {
    const first = await waitingOrder();
    const rotating = notification(first);
    const both = signature(rotating, ['whsec-new-unknown-0123456789abcdef', CURRENT_SECRET]);
    assert.equal((await deliver(rotating, both)).status, 200);
    const second = await waitingOrder();
    const previous = notification(second);
    assert.equal((await deliver(previous, signature(previous, [PREVIOUS_SECRET]))).status, 200);
    await waitForStatus(first, 'COMPLETED');
    await waitForStatus(second, 'COMPLETED');
  });

  it('acknowledges and ignores an event type it does not handle', async () => {
    const body = JSON.stringify({ id: `evt_${randomUUID()}`, type: 'payout.paid', data: { amount: 1 } });
    const res = await deliver(body, signature(body, [CURRENT_SECRET]));
    assert.equal(res.status, 200);
    const receipt = (await res.json()) as { outcome: string; duplicate: boolean };
    assert.equal(receipt.outcome, 'ignored');
    assert.equal(receipt.duplicate, false);
  });

  it('a second outcome for an order no longer waiting is acknowledged and ignored', async () => {
    const orderId = await waitingOrder();
    const approve = notification(orderId);
    assert.equal((await deliver(approve, signature(approve, [CURRENT_SECRET]))).status, 200);
    await waitForStatus(orderId, 'COMPLETED');
    const late = notification(orderId, 'payment.authentication.failed');
    const res = await deliver(late, signature(late, [CURRENT_SECRET]));
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { outcome: string }).outcome, 'ignored');
    assert.equal((await stateOf(orderId)).status, 'COMPLETED');
  });

  it('a handled type without an order is 422', async () => {
    const body = JSON.stringify({ id: `evt_${randomUUID()}`, type: 'payment.authentication.succeeded', data: {} });
    const res = await deliver(body, signature(body, [CURRENT_SECRET]));
    assert.equal(res.status, 422);
  });

  it('answers 503 while the saga cannot take the outcome, and the provider’s redelivery applies it once', async () => {
    // A second API whose sagas go to a queue no worker polls yet: the order stays PENDING.
    const idle = testConfig({ PORT: '0', API_TOKENS: SERVICE, PAYMENT_WEBHOOK_SECRET: CURRENT_SECRET });
    const logger = testLogger('payment-webhooks-idle');
    const api = startApi(idle, logger, components.signal);
    components.add(api.running);
    const at = await api.base;
    const orderId = await waitingOrder(at);
    const body = notification(orderId);
    const early = await deliver(body, signature(body, [CURRENT_SECRET]), at);
    assert.equal(early.status, 503);
    assert.ok(Number(early.headers.get('Retry-After')) > 0);
    assert.equal((await providerEvent(JSON.parse(body).id))?.applied_at, null);

    components.add(runSagaWorker(idle, logger, components.signal));
    await waitForStatus(orderId, 'AWAITING_PAYMENT_CONFIRMATION', at);
    const redelivered = await deliver(body, signature(body, [CURRENT_SECRET]), at);
    assert.equal(redelivered.status, 200);
    assert.equal(((await redelivered.json()) as { outcome: string }).outcome, 'applied');
    await waitForStatus(orderId, 'COMPLETED', at);
    assert.equal((await providerEvent(JSON.parse(body).id))?.deliveries, 2);
    assert.equal(await chargedEvents(orderId), 1);
  });
});
