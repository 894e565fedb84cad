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

/**
 * Version 2 of `checkout.order.failed`: `failureReason` also takes INTERNAL_ERROR (the saga failed
 * for an unexpected reason and undid every step). Adding an enum value breaks consumers that
 * validate v1 strictly, so it is a new version, published beside v1 for the deprecation period:
 * every failed order gets a v2 event, and v1 as well while its reason exists in v1 (never for
 * INTERNAL_ERROR, which v1 cannot say). docs/events.md, "Deprecations".
 */
export const orderFailedV2 = z
  .object({
    orderId,
    customerId: z.string(),
    failureReason: z.enum([
      'OUT_OF_STOCK',
      'PAYMENT_DECLINED',
      'PAYMENT_CONFIRMATION_TIMEOUT',
      'SHIPPING_UNAVAILABLE',
      'INTERNAL_ERROR',
    ]),
    totalCents: cents,
    currency,
    failedAt: timestamp,
  })
  .meta({
    examples: [
      {
        orderId: '6d6de677-53dc-4abe-9cc3-286129436a78',
        customerId: 'cus_c42f90e5',
        failureReason: 'INTERNAL_ERROR',
        totalCents: 3500,
        currency: 'EUR',
        failedAt: '2026-03-16T08:15:42.655Z',
      },
    ],
  });
