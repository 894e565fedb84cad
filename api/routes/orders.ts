import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { UUID_PATTERN } from '../../domain/order';
import type { Db } from '../../lib/db';
import type { CheckoutService } from '../../checkouts/service';
import type { AuthEnv } from '../auth';
import { guarded } from '../authorization';
import { validationProblem } from '../problem';
import { ANY_PATH, AUTHENTICATED, problems } from '../responses';
import { OrderPage, OrdersQuery } from '../schemas';

const listRoute = createRoute({
  method: 'get',
  path: '/orders',
  summary: "A customer's orders from the read model (eventually consistent, newest first, paginated)",
  description:
    'Served by the order read model, a projection of `checkout.order.*` events, so a just-placed order appears after its event is consumed (typically well under a second). Status is PENDING until the order ends. A customer lists its own orders only (`customerId` = its `sub`; `checkout:any` lists anyone’s).',
  ...guarded('listOrders'),
  request: { query: OrdersQuery },
  responses: {
    200: { description: 'One page of orders', content: { 'application/json': { schema: OrderPage } } },
    ...problems([...ANY_PATH, ...AUTHENTICATED, 400], {
      400: 'Invalid query',
      403: 'The principal lacks `checkout:read`, or `customerId` is another customer',
    }),
  },
});

interface Row {
  order_id: string;
  customer_id: string;
  status: 'PENDING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';
  failure_reason: string | null;
  total_cents: string;
  currency: string;
  items: { sku: string; name: string; quantity: number; unitPriceCents: number; lineTotalCents: number }[];
  placed_at: Date;
  updated_at: Date;
}

/** Keyset position: the (placed_at, order_id) of the last row of a page, as opaque base64url. */
interface Cursor {
  placedAt: string;
  orderId: string;
}

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify([c.placedAt, c.orderId])).toString('base64url');

/**
 * Only what encodeCursor writes: `toISOString()` of a year PostgreSQL accepts. Date.parse alone
 * lets through strings such as "1" or "+275760-09-13T00:00:00.000Z" that PostgreSQL refuses as a
 * timestamptz, which made a hand-made cursor a 500.
 */
const isCursorTimestamp = (v: string) =>
  /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(v) && new Date(v).toISOString() === v;

function decodeCursor(raw: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      isCursorTimestamp(value[0]) &&
      typeof value[1] === 'string' &&
      // The canonical 8-4-4-4-12 form: 36 of [0-9a-f-] in any order (e.g. all dashes) fail the ::uuid cast.
      UUID_PATTERN.test(value[1])
    ) {
      return { placedAt: value[0], orderId: value[1] };
    }
  } catch {
    // Falls through to the validation problem below.
  }
  throw validationProblem([{ path: 'query.cursor', message: 'not a cursor returned by this API' }]);
}

/** `GET /orders?customerId=&limit=&cursor=`; the checkout's rules say whose orders a principal may list. */
export function orderRoutes(db: Db, checkouts: Pick<CheckoutService, 'mayList'>) {
  return new OpenAPIHono<AuthEnv>().openapi(listRoute, async (c) => {
    const { customerId, limit, cursor } = c.req.valid('query');
    checkouts.mayList(c.get('principal'), customerId);
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const { rows } = await db.query<Row>(
      `SELECT order_id, customer_id, status, failure_reason, total_cents, currency, items, placed_at, updated_at
       FROM read_orders
       WHERE customer_id = $1 AND ($2::timestamptz IS NULL OR (placed_at, order_id) < ($2::timestamptz, $3::uuid))
       ORDER BY placed_at DESC, order_id DESC LIMIT $4`,
      [customerId, after?.placedAt ?? null, after?.orderId ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return c.json(
      {
        items: page.map((r) => ({
          orderId: r.order_id,
          customerId: r.customer_id,
          status: r.status,
          ...(r.failure_reason ? { failureReason: r.failure_reason } : {}),
          totalCents: Number(r.total_cents),
          currency: r.currency,
          items: r.items,
          placedAt: r.placed_at.toISOString(),
          updatedAt: r.updated_at.toISOString(),
        })),
        nextCursor:
          rows.length > limit && last
            ? encodeCursor({ placedAt: last.placed_at.toISOString(), orderId: last.order_id })
            : null,
      },
      200,
    );
  });
}
