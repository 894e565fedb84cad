import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth';
import type { CheckoutService } from '../../checkouts/service';
import {
  CheckoutAccepted,
  CheckoutRequest,
  CheckoutState,
  IdempotencyKeyHeader,
  OptionalIdempotencyKeyHeader,
  OrderIdParam,
  PaymentConfirmation,
  problemContent,
} from '../schemas';

const security = [{ bearerAuth: [] }];

const placeRoute = createRoute({
  method: 'post',
  path: '/checkouts',
  summary: 'Place a checkout',
  description:
    'Starts the checkout saga. Replaying the same Idempotency-Key with the same body returns the same order.',
  security,
  request: {
    headers: IdempotencyKeyHeader,
    body: { content: { 'application/json': { schema: CheckoutRequest } }, required: true },
  },
  responses: {
    202: { description: 'Accepted: the saga runs', content: { 'application/json': { schema: CheckoutAccepted } } },
    400: { description: 'Invalid request', content: problemContent },
    401: { description: 'Missing or invalid token', content: problemContent },
    422: { description: 'Idempotency-Key reused with another body', content: problemContent },
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/checkouts/{orderId}',
  summary: 'Get a checkout',
  security,
  request: { params: OrderIdParam },
  responses: {
    200: { description: 'The checkout and its saga steps', content: { 'application/json': { schema: CheckoutState } } },
    401: { description: 'Missing or invalid token', content: problemContent },
    404: { description: 'Unknown order', content: problemContent },
  },
});

/** A client's Idempotency-Key on a command, scoped to its token like on POST /checkouts. */
const retryKey = (principal: string, header: { 'idempotency-key'?: string | undefined }) =>
  header['idempotency-key'] === undefined ? undefined : `${principal}:${header['idempotency-key']}`;

const conflictResponses = {
  401: { description: 'Missing or invalid token', content: problemContent },
  404: { description: 'Unknown order', content: problemContent },
  409: { description: 'Not possible in the order’s current state', content: problemContent },
  503: {
    description: 'The saga could not be reached in time (no worker); retry after Retry-After seconds',
    content: problemContent,
  },
} as const;

const cancelRoute = createRoute({
  method: 'post',
  path: '/checkouts/{orderId}/cancel',
  summary: 'Cancel a checkout',
  description:
    'Accepted while the order has not shipped: the saga then undoes every step and the order ends CANCELLED. 409 once it has shipped or ended.',
  security,
  request: { params: OrderIdParam, headers: OptionalIdempotencyKeyHeader },
  responses: {
    202: {
      description: 'Accepted: compensation to CANCELLED follows; the body is the state when accepted',
      content: { 'application/json': { schema: CheckoutState } },
    },
    ...conflictResponses,
  },
});

const confirmRoute = createRoute({
  method: 'post',
  path: '/checkouts/{orderId}/payment-confirmation',
  summary: 'Answer a 3-D Secure payment confirmation',
  description:
    'Completes a payment waiting in AWAITING_PAYMENT_CONFIRMATION. 409 when the order is not waiting for one.',
  security,
  request: {
    params: OrderIdParam,
    headers: OptionalIdempotencyKeyHeader,
    body: { content: { 'application/json': { schema: PaymentConfirmation } }, required: true },
  },
  responses: {
    202: {
      description: 'Accepted: the saga continues (approved) or fails PAYMENT_DECLINED (refused)',
      content: { 'application/json': { schema: CheckoutState } },
    },
    400: { description: 'Invalid request', content: problemContent },
    ...conflictResponses,
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
    .openapi(getRoute, async (c) => c.json(await service.get(c.req.valid('param').orderId), 200))
    .openapi(cancelRoute, async (c) =>
      c.json(
        await service.cancel(c.req.valid('param').orderId, retryKey(c.get('principal'), c.req.valid('header'))),
        202,
      ),
    )
    .openapi(confirmRoute, async (c) =>
      c.json(
        await service.confirmPayment(
          c.req.valid('param').orderId,
          c.req.valid('json').approved,
          retryKey(c.get('principal'), c.req.valid('header')),
        ),
        202,
      ),
    );
}
