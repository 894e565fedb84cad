import type { ShippingAddress } from '../../domain/order';
import type { Db } from '../../lib/db';
import { withTransaction, type Tx } from '../../lib/db';
import type { Ids } from '../../lib/runtime';

export type CreateShipmentResult =
  | { status: 'created'; shipmentId: string; trackingNumber: string; carrier: string }
  | { status: 'unavailable'; reason: string }
  | { status: 'voided' };

export type CancelShipmentResult = { status: 'cancelled'; shipmentId: string } | { status: 'voided' };

/** A shipping carrier. Idempotent per key; a cancel closes the key to later creates. */
export interface Carrier {
  createShipment(req: { idempotencyKey: string; address: ShippingAddress }): Promise<CreateShipmentResult>;
  cancelShipment(req: { idempotencyKey: string }): Promise<CancelShipmentResult>;
}

/** Countries the simulated carrier cannot deliver to. */
export const UNSHIPPABLE_COUNTRIES: ReadonlySet<string> = new Set(['AQ']);

interface ShipmentRow {
  status: 'CREATED' | 'REJECTED' | 'CANCELLED' | 'VOIDED';
  shipment_id: string | null;
  tracking_number: string | null;
}

/** The carrier's record for a key, locked for the rest of the transaction. */
async function lockShipment(tx: Tx, key: string): Promise<ShipmentRow | undefined> {
  const { rows } = await tx.query<ShipmentRow>(
    'SELECT status, shipment_id, tracking_number FROM sim_carrier_shipments WHERE idempotency_key = $1 FOR UPDATE',
    [key],
  );
  return rows[0];
}

/**
 * The simulated carrier: ships anywhere but Antarctica (`AQ`). Its state lives in
 * `sim_carrier_shipments`, written outside the activities' transactions.
 *
 * @example
 * const carrier = createSimulatedCarrier({ db, ids });
 */
export function createSimulatedCarrier(deps: { db: Db; ids: Ids }): Carrier {
  const { db, ids } = deps;
  const CARRIER = 'sim-post';
  return {
    async createShipment(req) {
      return withTransaction(db, async (tx): Promise<CreateShipmentResult> => {
        const row = await lockShipment(tx, req.idempotencyKey);
        if (row?.status === 'CREATED' || row?.status === 'CANCELLED') {
          return {
            status: 'created',
            shipmentId: row.shipment_id ?? '',
            trackingNumber: row.tracking_number ?? '',
            carrier: CARRIER,
          };
        }
        if (row?.status === 'REJECTED') return { status: 'unavailable', reason: 'destination_not_served' };
        if (row?.status === 'VOIDED') return { status: 'voided' };
        if (UNSHIPPABLE_COUNTRIES.has(req.address.country)) {
          await tx.query(`INSERT INTO sim_carrier_shipments (idempotency_key, status) VALUES ($1, 'REJECTED')`, [
            req.idempotencyKey,
          ]);
          return { status: 'unavailable', reason: 'destination_not_served' };
        }
        const shipmentId = `shp_${ids.hex(10)}`;
        const trackingNumber = `SIM${ids.hex(6).toUpperCase()}`;
        await tx.query(
          `INSERT INTO sim_carrier_shipments (idempotency_key, status, shipment_id, tracking_number) VALUES ($1, 'CREATED', $2, $3)`,
          [req.idempotencyKey, shipmentId, trackingNumber],
        );
        return { status: 'created', shipmentId, trackingNumber, carrier: CARRIER };
      });
    },

    async cancelShipment(req) {
      return withTransaction(db, async (tx): Promise<CancelShipmentResult> => {
        const row = await lockShipment(tx, req.idempotencyKey);
        if (row?.status === 'CREATED' || row?.status === 'CANCELLED') {
          await tx.query(
            `UPDATE sim_carrier_shipments SET status = 'CANCELLED', updated_at = now() WHERE idempotency_key = $1`,
            [req.idempotencyKey],
          );
          return { status: 'cancelled', shipmentId: row.shipment_id ?? '' };
        }
        if (row) {
          await tx.query(
            `UPDATE sim_carrier_shipments SET status = 'VOIDED', updated_at = now() WHERE idempotency_key = $1`,
            [req.idempotencyKey],
          );
        } else {
          await tx.query(`INSERT INTO sim_carrier_shipments (idempotency_key, status) VALUES ($1, 'VOIDED')`, [
            req.idempotencyKey,
          ]);
        }
        return { status: 'voided' };
      });
    },
  };
}
