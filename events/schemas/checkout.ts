import { z } from 'zod';
import { address, cents, currency, orderId, orderLine, timestamp } from './common';

export const orderPlacedV1 = z.object({
  orderId,
  customerId: z.string(),
  items: z.array(orderLine).min(1),
  totalCents: cents,
  currency,
  shippingAddress: address,
  placedAt: timestamp,
});

export const orderCompletedV1 = z.object({
  orderId,
  customerId: z.string(),
  totalCents: cents,
  currency,
  completedAt: timestamp,
});

export const orderCancelledV1 = z.object({
  orderId,
  customerId: z.string(),
  totalCents: cents,
  currency,
  cancelledAt: timestamp,
});

export const orderFailedV1 = z.object({
  orderId,
  customerId: z.string(),
  failureReason: z.enum(['OUT_OF_STOCK', 'PAYMENT_DECLINED', 'PAYMENT_CONFIRMATION_TIMEOUT', 'SHIPPING_UNAVAILABLE']),
  totalCents: cents,
  currency,
  failedAt: timestamp,
});
