import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import { InvalidCredential } from '../../auth/errors';
import { SIGNATURE_TOLERANCE_SECONDS, verifyWebhookSignature } from '../../auth/webhook-signature';
import type { CheckoutService } from '../../checkouts/service';
import type { Clock } from '../../lib/runtime';
import { ProblemError } from '../problem';
import { ANY_PATH, JSON_BODY, problems } from '../responses';
import { PaymentNotification, PaymentNotificationReceipt } from '../schemas';

/** Provider events are unique per provider; this API takes one payment provider's. */
const PAYMENT_PROVIDER = 'payments';

const receiveRoute = createRoute({
  method: 'post',
  path: '/webhooks/payments',
  operationId: 'receivePaymentNotification',
  summary: 'Take a notification of the payment provider (e.g. a 3-D Secure outcome)',
  description: `Authenticated by signature, not by bearer token: \`Payment-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with PAYMENT_WEBHOOK_SECRET>\` (several \`v1\` while a secret rotates). A wrong signature, or a \`t\` more than ${SIGNATURE_TOLERANCE_SECONDS / 60} minutes away, is a 401 and changes nothing. Each event \`id\` is applied once: a repeat answers 200 with \`duplicate: true\`. A 503 means it was not applied: deliver it again (the retry takes effect once).`,
  security: [{ paymentSignature: [] }],
  request: { body: { content: { 'application/json': { schema: PaymentNotification } }, required: true } },
  responses: {
    200: {
      description: 'Received: applied, ignored (nothing to do), or a duplicate of an applied event',
      content: { 'application/json': { schema: PaymentNotificationReceipt } },
    },
    ...problems([...ANY_PATH, 401, 422, 503, ...JSON_BODY], {
      401: 'Missing, malformed, stale or wrong `Payment-Signature` (nothing changed)',
      422: 'A handled event type without `data.orderId`',
      503: 'Not applied now (the database or the saga could not be reached, or the order is not waiting for it yet); deliver it again after Retry-After seconds',
    }),
  },
});

/**
 * Verifies the provider's `Payment-Signature` over the raw body before anything reads it as JSON,
 * so an unsigned request learns nothing and changes nothing.
 *
 * @example
 * app.use('/webhooks/payments', paymentSignature({ secrets: config.webhooks.paymentSecrets, clock }));
 */
export function paymentSignature(opts: { secrets: readonly string[]; clock: Clock }) {
  return createMiddleware(async (c, next) => {
    try {
      if (opts.secrets.length === 0)
        throw new InvalidCredential('payment notifications are not accepted: no webhook secret is configured');
      verifyWebhookSignature({
        header: c.req.header('Payment-Signature'),
        body: new Uint8Array(await c.req.arrayBuffer()),
        secrets: opts.secrets,
        now: opts.clock.now(),
      });
    } catch (err) {
      if (!(err instanceof InvalidCredential)) throw err;
      throw new ProblemError(401, {
        slug: 'invalid-signature',
        detail: err.description,
        headers: { 'WWW-Authenticate': 'Payment-Signature realm="checkout-saga"' },
      });
    }
    await next();
  });
}

/** `POST /webhooks/payments`: the payment provider's signed notifications. */
export function webhookRoutes(service: Pick<CheckoutService, 'receiveProviderEvent'>) {
  return new OpenAPIHono().openapi(receiveRoute, async (c) => {
    const notification = c.req.valid('json');
    const receipt = await service.receiveProviderEvent({
      provider: PAYMENT_PROVIDER,
      id: notification.id,
      type: notification.type,
      orderId: notification.data.orderId,
      payload: notification,
    });
    return c.json({ eventId: notification.id, ...receipt }, 200);
  });
}
