import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { Db } from '../../lib/db';
import type { AuthEnv } from '../auth';
import { guarded } from '../authorization';
import { ProblemError } from '../problem';
import { ANY_PATH, JSON_BODY, problems, rateLimitHeaders, WRITE } from '../responses';
import { InventoryItem, InventoryUpdate, SkuParam } from '../schemas';

const getRoute = createRoute({
  method: 'get',
  path: '/inventory/{sku}',
  ...guarded('getInventoryItem'),
  summary: 'Get a catalog row with its stock',
  description: 'Any authenticated principal may read the catalogue.',
  request: { params: SkuParam },
  responses: {
    200: { description: 'The catalog row', content: { 'application/json': { schema: InventoryItem } } },
    ...problems([...ANY_PATH, 400, 401, 404, 503], { 400: 'Invalid SKU', 404: 'Unknown SKU' }),
  },
});

const putRoute = createRoute({
  method: 'put',
  path: '/inventory/{sku}',
  ...guarded('putInventoryItem'),
  summary: 'Create or replace a catalog row (reserved stock is kept)',
  description: 'Needs `inventory:write` (operators, tests).',
  request: { params: SkuParam, body: { content: { 'application/json': { schema: InventoryUpdate } }, required: true } },
  responses: {
    200: {
      description: 'The catalog row as stored',
      headers: rateLimitHeaders(false),
      content: { 'application/json': { schema: InventoryItem } },
    },
    ...problems([...ANY_PATH, 401, 403, 503, ...WRITE, ...JSON_BODY]),
  },
});

interface Row {
  sku: string;
  name: string;
  price_cents: string;
  available: number;
  reserved: number;
}
const toItem = (r: Row) => ({
  sku: r.sku,
  name: r.name,
  priceCents: Number(r.price_cents),
  available: r.available,
  reserved: r.reserved,
});

/** `GET` and `PUT /inventory/{sku}`. */
export function inventoryRoutes(db: Db) {
  return new OpenAPIHono<AuthEnv>()
    .openapi(getRoute, async (c) => {
      const { sku } = c.req.valid('param');
      const { rows } = await db.query<Row>(
        'SELECT sku, name, price_cents, available, reserved FROM products WHERE sku = $1',
        [sku],
      );
      const row = rows[0];
      if (!row)
        throw new ProblemError(404, { slug: 'not-found', title: 'SKU not found', detail: `no catalog row for ${sku}` });
      return c.json(toItem(row), 200);
    })
    .openapi(putRoute, async (c) => {
      const { sku } = c.req.valid('param');
      const body = c.req.valid('json');
      const { rows } = await db.query<Row>(
        `INSERT INTO products (sku, name, price_cents, available) VALUES ($1, $2, $3, $4)
         ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents, available = EXCLUDED.available, updated_at = now()
         RETURNING sku, name, price_cents, available, reserved`,
        [sku, body.name, body.priceCents, body.available],
      );
      return c.json(toItem(rows[0]!), 200);
    });
}
