import type { OrderItem } from '../domain/order';
import type { Db } from '../lib/db';
import { UnknownSku } from './errors';

/** An order line as the customer asks for it: prices never come from the client. */
export interface RequestedItem {
  sku: string;
  quantity: number;
}

/**
 * Prices the requested lines from the catalog, in the order they were asked for.
 *
 * @throws UnknownSku naming every line (`items.<i>.sku`) whose SKU the catalog does not have.
 * @example
 * const items = await priceItems(db, [{ sku: 'SKU-001', quantity: 2 }]);
 */
export async function priceItems(db: Db, requested: readonly RequestedItem[]): Promise<OrderItem[]> {
  const { rows: products } = await db.query<{ sku: string; name: string; price_cents: string }>(
    'SELECT sku, name, price_cents FROM products WHERE sku = ANY($1)',
    [requested.map((i) => i.sku)],
  );
  const bySku = new Map(products.map((p) => [p.sku, p]));
  const unknown = requested.flatMap((item, i) =>
    bySku.has(item.sku) ? [] : [{ path: `items.${i}.sku`, message: `unknown SKU ${item.sku}` }],
  );
  if (unknown.length > 0) throw new UnknownSku(unknown);
  return requested.map((item) => {
    const p = bySku.get(item.sku)!;
    return { sku: item.sku, name: p.name, quantity: item.quantity, unitPriceCents: Number(p.price_cents) };
  });
}
