import type { Tx } from '../../lib/db';
import { randomIds, systemClock } from '../../lib/runtime';
import { appendEvent } from '../../outbox/append';

export const POSITIONED_SUBJECT = 'inventory.stock.reserved';

/**
 * Writes an `inventory.stock.reserved` event of `orderId` to the outbox in `tx`, whose first line's
 * quantity is `position` (1, 2, 3, ... per order), so the stream alone shows whether an order's
 * events kept their commit order. Returns the event id.
 *
 * @example
 * await withTransaction(db, (tx) => appendPositioned(tx, '/test/relay', orderId, 1));
 */
export async function appendPositioned(tx: Tx, source: string, orderId: string, position: number): Promise<string> {
  const env = await appendEvent(
    tx,
    { clock: systemClock, ids: randomIds, source },
    {
      orderId,
      traceparent: `00-${'3'.repeat(32)}-${'4'.repeat(16)}-01`,
      event: {
        type: POSITIONED_SUBJECT,
        dataversion: 1,
        data: { orderId, items: [{ sku: 'SEQ', quantity: position }], reservedAt: new Date().toISOString() },
      },
    },
  );
  return env.id;
}
