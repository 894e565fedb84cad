import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApp } from '../../api/app';
import { createHttpMetrics } from '../../api/metrics';
import {
  CommandRejected,
  ForeignCustomer,
  IdempotencyKeyReused,
  OrderNotFound,
  ProviderEventTooEarly,
  SagaUnavailable,
  UnknownPaymentMethod,
  UnknownSku,
  UnusableProviderEvent,
  type CheckoutError,
} from '../../checkouts/errors';
import type { CheckoutService } from '../../checkouts/service';
import type { Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { serviceTokenAccess } from '../support/api';

const TOKEN = 'unit-token-0123456789abcdef';
const ORDER_ID = '0b0e7f0c-6a55-4f5e-9a7a-2f1f2d3c4b5a';

/** The response of GET /checkouts/{id} when the checkout service throws `err`. */
async function answerTo(err: CheckoutError | Error): Promise<Response> {
  const fail = () => Promise.reject(err);
  const checkouts = { place: fail, get: fail, cancel: fail, confirmPayment: fail } as unknown as CheckoutService;
  const app = createApp({
    db: {} as Db,
    checkouts,
    ...serviceTokenAccess({} as Db, TOKEN),
    readiness: {},
    logger: createLogger('domain-problems-test', 'silent'),
    metrics: createHttpMetrics(),
  });
  return app.request(`/checkouts/${ORDER_ID}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
}

/** Asserts the exact status, headers and body bytes of a problem+json answer. */
async function assertAnswer(
  res: Response,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<void> {
  assert.equal(res.status, status);
  assert.equal(res.headers.get('Content-Type'), 'application/problem+json');
  for (const [name, value] of Object.entries(headers)) assert.equal(res.headers.get(name), value);
  assert.equal(await res.text(), JSON.stringify(body));
}

const problemType = (slug: string) => `https://checkout-saga.dev/problems/${slug}`;

describe('checkout errors answered as problem+json by the one table', () => {
  it('answers OrderNotFound with a 404 not-found naming the order', async () => {
    await assertAnswer(await answerTo(new OrderNotFound(ORDER_ID)), 404, {
      type: problemType('not-found'),
      title: 'Order not found',
      status: 404,
      detail: `no order ${ORDER_ID}`,
    });
  });

  it('answers CommandRejected with a 409 conflict carrying the saga’s reason', async () => {
    await assertAnswer(await answerTo(new CommandRejected('the order has already shipped')), 409, {
      type: problemType('conflict'),
      title: 'Not possible in the order’s current state',
      status: 409,
      detail: 'the order has already shipped',
    });
  });

  it('answers IdempotencyKeyReused with a 422 idempotency-key-reused', async () => {
    await assertAnswer(await answerTo(new IdempotencyKeyReused()), 422, {
      type: problemType('idempotency-key-reused'),
      title: 'Idempotency-Key reused',
      status: 422,
      detail: 'this Idempotency-Key was already used with a different request body',
    });
  });

  it('answers UnknownSku with a 422 unknown-sku listing each unknown SKU by its field path', async () => {
    const fields = [
      { path: 'items.0.sku', message: 'unknown SKU NOPE-1' },
      { path: 'items.2.sku', message: 'unknown SKU NOPE-2' },
    ];
    await assertAnswer(await answerTo(new UnknownSku(fields)), 422, {
      type: problemType('unknown-sku'),
      title: 'Unknown SKU',
      status: 422,
      detail: 'items.0.sku: unknown SKU NOPE-1; items.2.sku: unknown SKU NOPE-2',
      errors: fields,
    });
  });

  it('answers UnknownPaymentMethod with a 422 unknown-payment-method naming the field', async () => {
    const fields = [{ path: 'payment.method', message: 'the payment provider does not know this payment method' }];
    await assertAnswer(await answerTo(new UnknownPaymentMethod(fields)), 422, {
      type: problemType('unknown-payment-method'),
      title: 'Unknown payment method',
      status: 422,
      detail: 'payment.method: the payment provider does not know this payment method',
      errors: fields,
    });
  });

  it('answers ForeignCustomer with a 403 foreign-customer naming the customer', async () => {
    await assertAnswer(await answerTo(new ForeignCustomer('cust-other')), 403, {
      type: problemType('foreign-customer'),
      title: 'Not your customer',
      status: 403,
      detail: 'this principal may not act for customer cust-other',
    });
  });

  it('answers UnusableProviderEvent with a 422 naming the missing field', async () => {
    const fields = [{ path: 'data.orderId', message: 'required for payment.authentication.succeeded' }];
    await assertAnswer(await answerTo(new UnusableProviderEvent(fields)), 422, {
      type: problemType('unusable-provider-event'),
      title: 'Notification cannot be applied',
      status: 422,
      detail: 'data.orderId: required for payment.authentication.succeeded',
      errors: fields,
    });
  });

  it('answers ProviderEventTooEarly with a 503 and Retry-After, so the provider delivers it again', async () => {
    await assertAnswer(
      await answerTo(new ProviderEventTooEarly(5, 'CHARGING_PAYMENT')),
      503,
      {
        type: problemType('provider-event-too-early'),
        title: 'Notification arrived too early',
        status: 503,
        detail: 'the order is CHARGING_PAYMENT and not yet waiting for this notification; deliver it again later',
      },
      { 'Retry-After': '5' },
    );
  });

  it('answers SagaUnavailable with a 503 saga-unavailable and Retry-After in seconds', async () => {
    await assertAnswer(
      await answerTo(new SagaUnavailable(5)),
      503,
      {
        type: problemType('saga-unavailable'),
        title: 'Saga unavailable',
        status: 503,
        detail: 'the saga could not be reached in time; retry later (a retry is applied at most once)',
      },
      { 'Retry-After': '5' },
    );
  });

  it('answers a database that cannot be reached with a 503 database-unavailable and Retry-After', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    await assertAnswer(
      await answerTo(refused),
      503,
      {
        type: problemType('database-unavailable'),
        title: 'Database unavailable',
        status: 503,
        detail:
          'the database cannot be reached right now; the request may not have been applied: retry it later (a checkout with the same Idempotency-Key)',
      },
      { 'Retry-After': '5' },
    );
  });

  it('still answers any other unexpected error with a 500', async () => {
    const res = await answerTo(Object.assign(new Error('duplicate key'), { code: '23505' }));
    assert.equal(res.status, 500);
  });
});
