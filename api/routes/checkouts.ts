import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { AuthEnv } from '../auth';
import type { createCheckoutService } from '../checkout-service';
import { ProblemError } from '../problem';
import { CheckoutAccepted, CheckoutRequest, CheckoutState, IdempotencyKeyHeader, OrderIdParam, problemContent } from '../schemas';

const security = [{ bearerAuth: [] }];

const placeRoute = createRoute({
  method: 'post',
  path: '/checkouts',
  summary: 'Place a checkout',
  description: 'Starts the checkout saga. Replaying the same Idempotency-Key with the same body returns the same order.',
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

/** `POST /checkouts` and `GET /checkouts/{orderId}`. */
export function checkoutRoutes(service: ReturnType<typeof createCheckoutService>) {
  return new OpenAPIHono<AuthEnv>()
    .openapi(placeRoute, async (c) => {
      const key = c.req.valid('header')['idempotency-key'];
      const accepted = await service.place(c.get('principal'), key, c.req.valid('json'));
      return c.json(accepted, 202, { Location: `/checkouts/${accepted.orderId}` });
    })
    .openapi(getRoute, async (c) => {
      const { orderId } = c.req.valid('param');
      const state = await service.get(orderId);
      if (!state) throw new ProblemError(404, 'not-found', 'Order not found', `no order ${orderId}`);
      return c.json(state, 200);
    });
}
