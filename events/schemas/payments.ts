import { z } from 'zod';
import { cents, currency, orderId, timestamp } from './common';

export const paymentChargedV1 = z.object({
  orderId,
  paymentId: z.string(),
  amountCents: cents,
  currency,
  chargedAt: timestamp,
});

export const paymentDeclinedV1 = z.object({
  orderId,
  amountCents: cents,
  currency,
  reason: z.string(),
  declinedAt: timestamp,
});

export const paymentRefundedV1 = z.object({
  orderId,
  paymentId: z.string(),
  amountCents: cents,
  currency,
  refundedAt: timestamp,
});
