import { z } from 'zod';
import { address, orderId, stockLine, timestamp } from './common';

export const shipmentCreatedV1 = z.object({
  orderId,
  shipmentId: z.string(),
  carrier: z.string(),
  trackingNumber: z.string(),
  shippingAddress: address,
  items: z.array(stockLine).min(1),
  createdAt: timestamp,
});

export const shipmentCancelledV1 = z.object({
  orderId,
  shipmentId: z.string(),
  cancelledAt: timestamp,
});
