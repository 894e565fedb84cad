import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { Principal } from '../../auth/principal';
import type { CheckoutService } from '../../checkouts/service';
import type { AuthEnv } from '../auth';
import { guarded } from '../authorization';
import { ANY_PATH, AUTHENTICATED, BODY_LIMIT, JSON_BODY, problems, rateLimitHeaders, WRITE } from '../responses';
import {
  CheckoutAccepted,
  CheckoutRequest,
  CheckoutState,
  IdempotencyKeyHeader,
  OptionalIdempotencyKeyHeader,
  OrderIdParam,
  PaymentConfirmation,
} from '../schemas';

const placeRoute = createRoute({
  method: 'post',
  path: '/checkouts',
  ...guarded('placeCheckout'),
  summary: 'Place a checkout',
  description:
    'Starts the checkout saga. Replaying the same Idempotency-Key with the same body returns the same order. A customer places orders for itself only (`customerId` = its `sub`; `checkout:any` acts for anyone).',
  request: {
    headers: IdempotencyKeyHeader,
    body: { content: { 'application/json': { schema: CheckoutRequest } }, required: true },
  },
  responses: {
    202: {
      description: 'Accepted: the saga runs',
      headers: {
        Location: { description: 'The order: `/checkouts/{orderId}`', required: true, schema: { type: 'string' } },
        ...rateLimitHeaders(false),
      },
      content: { 'application/json': { schema: CheckoutAccepted } },
    },
    ...problems([...ANY_PATH, ...AUTHENTICATED, ...WRITE, ...JSON_BODY, 422], {
      403: 'The principal lacks `checkout:write`, or `customerId` is another customer',
    }),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/checkouts/{orderId}',
  ...guarded('getCheckout'),
  summary: 'Get a checkout',
  request: { params: OrderIdParam },
  responses: {
    200: { description: 'The checkout and its saga steps', content: { 'application/json': { schema: CheckoutState } } },
    ...problems([...ANY_PATH, ...AUTHENTICATED, 404], { 404: 'Unknown order, or another customer’s' }),
  },
});

/** A client's Idempotency-Key on a command, scoped to its principal like on POST /checkouts. */
const retryKey = (principal: Principal, header: { 'idempotency-key'?: string | undefined }) =>
  header['idempotency-key'] === undefined ? undefined : `${principal.id}:${header['idempotency-key']}`;

const commandAccepted = (description: string) => ({
  description,
  headers: rateLimitHeaders(false),
  content: { 'application/json': { schema: CheckoutState } },
});

const cancelRoute = createRoute({
  method: 'post',
  path: '/checkouts/{orderId}/cancel',
  ...guarded('cancelCheckout'),
  summary: 'Cancel a checkout',
  description:
    'Accepted while the order has not shipped: the saga then undoes every step and the order ends CANCELLED. 409 once it has shipped or ended.',
  request: { params: OrderIdParam, headers: OptionalIdempotencyKeyHeader },
  responses: {
    202: commandAccepted('Accepted: compensation to CANCELLED follows; the body is the state when accepted'),
    ...problems([...ANY_PATH, ...AUTHENTICATED, ...WRITE, ...BODY_LIMIT, 400, 404, 409], {
      400: 'Invalid Idempotency-Key header',
      404: 'Unknown order, or another customer’s',
    }),
  },
});

const confirmRoute = createRoute({
  method: 'post',
  path: '/checkouts/{orderId}/payment-confirmation',
  ...guarded('confirmPayment'),
  summary: 'Answer a 3-D Secure payment confirmation',
  description:
    'Completes a payment waiting in AWAITING_PAYMENT_CONFIRMATION. 409 when the order is not waiting for one. Needs `payments:confirm`, which customers never hold: the answer comes from a trusted backend (or from the provider, through `POST /webhooks/payments`).',
  request: {
    params: OrderIdParam,
    headers: OptionalIdempotencyKeyHeader,
    body: { content: { 'application/json': { schema: PaymentConfirmation } }, required: true },
  },
  responses: {
    202: commandAccepted('Accepted: the saga continues (approved) or fails PAYMENT_DECLINED (refused)'),
    ...problems([...ANY_PATH, ...AUTHENTICATED, ...WRITE, ...JSON_BODY, 404, 409], { 404: 'Unknown order' }),
  },
});

/** `POST /checkouts`, `GET /checkouts/{orderId}`, and the cancel and payment-confirmation commands. */
export function checkoutRoutes(service: CheckoutService) {
  return new OpenAPIHono<AuthEnv>()
    .openapi(placeRoute, async (c) => {
      const key = c.req.valid('header')['idempotency-key'];
      const accepted = await service.place(c.get('principal'), key, c.req.valid('json'));
      return c.json(accepted, 202, { Location: `/checkouts/${accepted.orderId}` });
    })
    .openapi(getRoute, async (c) => c.json(await service.get(c.get('principal'), c.req.valid('param').orderId), 200))
    .openapi(cancelRoute, async (c) => {
      const principal = c.get('principal');
      const { orderId } = c.req.valid('param');
      return c.json(await service.cancel(principal, orderId, retryKey(principal, c.req.valid('header'))), 202);
    })
    .openapi(confirmRoute, async (c) => {
      const principal = c.get('principal');
      const { orderId } = c.req.valid('param');
      const { approved } = c.req.valid('json');
      return c.json(
        await service.confirmPayment(principal, orderId, approved, retryKey(principal, c.req.valid('header'))),
        202,
      );
    });
}
