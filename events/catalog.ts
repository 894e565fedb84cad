import { z } from 'zod';
import { orderCancelledV1, orderCompletedV1, orderFailedV1, orderFailedV2, orderPlacedV1 } from './schemas/checkout';
import { stockReleasedV1, stockReservationFailedV1, stockReservedV1 } from './schemas/inventory';
import { paymentChargedV1, paymentDeclinedV1, paymentRefundedV1 } from './schemas/payments';
import { shipmentCancelledV1, shipmentCreatedV1 } from './schemas/shipping';

/**
 * Every event type and `dataversion` the system publishes. The subject is the CloudEvents `type`,
 * named `<service>.<entity>.<action>` in the past tense. A breaking change adds a new version here
 * and publishes it beside the old one; a compatible change adds optional fields only.
 */
export const eventCatalog = {
  'checkout.order.placed': { 1: orderPlacedV1 },
  'checkout.order.completed': { 1: orderCompletedV1 },
  'checkout.order.cancelled': { 1: orderCancelledV1 },
  'checkout.order.failed': { 1: orderFailedV1, 2: orderFailedV2 },
  'inventory.stock.reserved': { 1: stockReservedV1 },
  'inventory.stock.released': { 1: stockReleasedV1 },
  'inventory.stock.reservation_failed': { 1: stockReservationFailedV1 },
  'payments.payment.charged': { 1: paymentChargedV1 },
  'payments.payment.declined': { 1: paymentDeclinedV1 },
  'payments.payment.refunded': { 1: paymentRefundedV1 },
  'shipping.shipment.created': { 1: shipmentCreatedV1 },
  'shipping.shipment.cancelled': { 1: shipmentCancelledV1 },
} as const;

type Catalog = typeof eventCatalog;
export type EventType = keyof Catalog;

/** One event as a discriminated union over `type` and `dataversion`. */
export type DomainEvent = {
  [T in EventType]: {
    [V in keyof Catalog[T] & number]: { type: T; dataversion: V; data: z.infer<Catalog[T][V]> };
  }[keyof Catalog[T] & number];
}[EventType];

/** The data shape of the newest version of a type, for producers. */
export type EventData<T extends EventType> = Extract<DomainEvent, { type: T }>['data'];

export const EVENT_TYPES = Object.keys(eventCatalog) as EventType[];

export function isEventType(value: string): value is EventType {
  return Object.hasOwn(eventCatalog, value);
}

/** The zod schema of one type and version, or undefined if this catalogue does not know it. */
export function dataSchemaFor(type: string, version: number): z.ZodType | undefined {
  if (!isEventType(type)) return undefined;
  const versions: Partial<Record<number, z.ZodType>> = eventCatalog[type];
  return versions[version];
}

/** Owning service of a subject, the first token: `payments.payment.charged` -> `payments`. */
export function serviceOf(type: string): string {
  return type.split('.', 1)[0] ?? type;
}
