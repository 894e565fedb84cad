import { z } from 'zod';
import { orderId, stockLine, timestamp } from './common';

export const stockReservedV1 = z.object({
  orderId,
  items: z.array(stockLine).min(1),
  reservedAt: timestamp,
});

export const stockReleasedV1 = z.object({
  orderId,
  items: z.array(stockLine).min(1),
  releasedAt: timestamp,
});

export const stockReservationFailedV1 = z.object({
  orderId,
  items: z.array(stockLine).min(1),
  shortages: z.array(z.object({ sku: z.string(), requested: z.number().int(), available: z.number().int() })).min(1),
  failedAt: timestamp,
});
