import type { OrderItem } from '../domain/order';
import type { Tx } from '../lib/db';

/** Stock lines of an order, one per SKU, sorted so concurrent reservations lock rows in one order. */
export function stockLines(items: readonly Pick<OrderItem, 'sku' | 'quantity'>[]): { sku: string; quantity: number }[] {
  const bySku = new Map<string, number>();
  for (const item of items) bySku.set(item.sku, (bySku.get(item.sku) ?? 0) + item.quantity);
  return [...bySku.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([sku, quantity]) => ({ sku, quantity }));
}

/**
 * Locks the products rows of `skus` in SKU order. Every stock change takes its row locks this
 * way, so two orders touching the same SKUs cannot deadlock.
 */
export async function lockProducts(tx: Tx, skus: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await tx.query<{ sku: string; available: number }>(
    'SELECT sku, available FROM products WHERE sku = ANY($1) ORDER BY sku FOR UPDATE',
    [skus],
  );
  return new Map(rows.map((r) => [r.sku, r.available]));
}

type StockColumn = 'available' | 'reserved' | 'shipped';
export type StockLine = { sku: string; quantity: number };

/** Moves stock between two of `available`, `reserved` and `shipped`, for each line, locking the rows first. */
export async function moveStock(
  tx: Tx,
  lines: readonly StockLine[],
  from: StockColumn,
  to: StockColumn,
  at: Date,
): Promise<void> {
  if (lines.length === 0) return;
  await lockProducts(
    tx,
    lines.map((l) => l.sku),
  );
  await moveLockedStock(tx, lines, from, to, at);
}

/** {@link moveStock} for a caller that already holds the rows' locks (taken with {@link lockProducts}). */
export async function moveLockedStock(
  tx: Tx,
  lines: readonly StockLine[],
  from: StockColumn,
  to: StockColumn,
  at: Date,
): Promise<void> {
  if (lines.length === 0) return;
  await tx.query(
    `UPDATE products p SET ${from} = p.${from} - l.quantity, ${to} = p.${to} + l.quantity, updated_at = $3
     FROM unnest($1::text[], $2::int[]) AS l(sku, quantity) WHERE p.sku = l.sku`,
    [lines.map((l) => l.sku), lines.map((l) => l.quantity), at],
  );
}
