import { z } from 'zod';

export const orderId = z.uuid().describe('The order id, also the CloudEvents `subject`.');
export const timestamp = z.iso.datetime({ offset: true });
export const cents = z.number().int().min(0);
export const currency = z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code');

export const stockLine = z.object({ sku: z.string().min(1), quantity: z.number().int().min(1) });

export const orderLine = z.object({
  sku: z.string().min(1),
  name: z.string(),
  quantity: z.number().int().min(1),
  unitPriceCents: cents,
  lineTotalCents: cents,
});

export const address = z.object({
  name: z.string(),
  line1: z.string(),
  line2: z.string().optional(),
  city: z.string(),
  postalCode: z.string(),
  country: z.string().regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2'),
});
