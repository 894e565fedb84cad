import type { Db } from './db';

/** The demo catalog: SKU-001..SKU-010, inserted once; existing rows are left as operators set them. */
export const SEED_PRODUCTS = Array.from({ length: 10 }, (_, i) => {
  const n = String(i + 1).padStart(3, '0');
  return { sku: `SKU-${n}`, name: `Demo product ${n}`, priceCents: 500 + i * 250, available: 1000 };
});

/**
 * Inserts the demo catalog where missing. Idempotent.
 *
 * @example
 * await seedCatalog(db);
 */
export async function seedCatalog(db: Db): Promise<number> {
  let inserted = 0;
  for (const p of SEED_PRODUCTS) {
    const r = await db.query(
      `INSERT INTO products (sku, name, price_cents, available) VALUES ($1, $2, $3, $4) ON CONFLICT (sku) DO NOTHING`,
      [p.sku, p.name, p.priceCents, p.available],
    );
    inserted += r.rowCount ?? 0;
  }
  return inserted;
}
