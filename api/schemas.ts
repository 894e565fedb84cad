import { z } from '@hono/zod-openapi';
import { FailureReason, OrderStatus } from '../domain/order';

const text = (max: number) => z.string().trim().min(1).max(max);

export const CheckoutRequest = z
  .object({
    customerId: text(128).openapi({ example: 'cust-42' }),
    items: z
      .array(
        z.object({
          sku: text(64).openapi({ example: 'SKU-001' }),
          quantity: z.number().int().min(1).max(100),
        }),
      )
      .min(1)
      .max(50)
      .superRefine((items, ctx) => {
        const seen = new Set<string>();
        items.forEach((item, i) => {
          if (seen.has(item.sku))
            ctx.addIssue({ code: 'custom', path: [i, 'sku'], message: 'duplicate SKU; combine the quantities' });
          seen.add(item.sku);
        });
      }),
    payment: z.object({ method: text(64).openapi({ example: 'pm_card_visa', description: 'Payment-method token' }) }),
    shippingAddress: z.object({
      name: text(200),
      line1: text(200),
      line2: z.string().trim().max(200).optional(),
      city: text(100),
      postalCode: text(20),
      country: z
        .string()
        .regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2 country code, upper case')
        .openapi({ example: 'DE' }),
    }),
    currency: z.literal('USD', { message: 'only USD is supported' }).default('USD'),
  })
  .strict()
  .openapi('CheckoutRequest');
export type CheckoutRequest = z.infer<typeof CheckoutRequest>;

export const IdempotencyKeyHeader = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x20-\x7E]{1,255}$/, '1 to 255 printable ASCII characters')
    .openapi({
      param: {
        name: 'idempotency-key',
        in: 'header',
        description: 'Idempotency-Key (header names are case-insensitive)',
      },
      example: 'b3f1c1f0-order-1',
    }),
});

/** On commands: optional; a retry with the same key is applied at most once and gets the same answer. */
export const OptionalIdempotencyKeyHeader = z.object({
  'idempotency-key': IdempotencyKeyHeader.shape['idempotency-key'].optional(),
});

/** The domain's statuses and failure reasons, so a new one needs no edit here. */
export const OrderStatusSchema = z.enum(OrderStatus);
const FailureReasonSchema = z.enum(FailureReason);

export const CheckoutAccepted = z.object({ orderId: z.uuid(), status: OrderStatusSchema }).openapi('CheckoutAccepted');

export const CheckoutState = z
  .object({
    orderId: z.uuid(),
    status: OrderStatusSchema,
    failureReason: FailureReasonSchema.optional(),
    customerId: z.string(),
    items: z.array(
      z.object({ sku: z.string(), name: z.string(), quantity: z.number().int(), unitPriceCents: z.number().int() }),
    ),
    totalCents: z.number().int(),
    currency: z.string(),
    steps: z.array(
      z.object({
        name: z.string(),
        kind: z.enum(['FORWARD', 'COMPENSATION']),
        state: z.enum(['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'SKIPPED']),
        startedAt: z.string().optional(),
        finishedAt: z.string().optional(),
        detail: z.string().optional(),
      }),
    ),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('CheckoutState');

export const OrderIdParam = z.object({ orderId: z.string().openapi({ param: { name: 'orderId', in: 'path' } }) });
export const SkuParam = z.object({ sku: text(64).openapi({ param: { name: 'sku', in: 'path' }, example: 'SKU-001' }) });

export const InventoryItem = z
  .object({
    sku: z.string(),
    name: z.string(),
    priceCents: z.number().int(),
    available: z.number().int(),
    reserved: z.number().int(),
  })
  .openapi('InventoryItem');

export const InventoryUpdate = z
  .object({
    name: text(200),
    priceCents: z.number().int().min(0).max(100_000_000),
    available: z.number().int().min(0).max(1_000_000_000),
  })
  .strict()
  .openapi('InventoryUpdate');

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const problemContent = { 'application/problem+json': { schema: ProblemSchema } };

export const OrdersQuery = z.object({
  customerId: text(128).openapi({ example: 'cust-42' }),
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ description: 'Page size (1..100)' }),
  cursor: z
    .string()
    .max(200)
    .optional()
    .openapi({ description: 'Opaque cursor from the previous page’s `nextCursor`' }),
});

export const OrderSummary = z
  .object({
    orderId: z.uuid(),
    customerId: z.string(),
    status: z.enum(['PENDING', 'COMPLETED', 'CANCELLED', 'FAILED']),
    failureReason: z.string().optional(),
    totalCents: z.number().int(),
    currency: z.string(),
    items: z.array(
      z.object({
        sku: z.string(),
        name: z.string(),
        quantity: z.number().int(),
        unitPriceCents: z.number().int(),
        lineTotalCents: z.number().int(),
      }),
    ),
    placedAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('OrderSummary');

export const OrderPage = z
  .object({
    items: z.array(OrderSummary),
    nextCursor: z
      .string()
      .nullable()
      .openapi({ description: 'Pass as `cursor` for the next (older) page; null on the last page' }),
  })
  .openapi('OrderPage');

export const PaymentConfirmation = z
  .object({
    approved: z
      .boolean()
      .openapi({ description: 'The customer passed (true) or failed (false) the 3-D Secure challenge' }),
  })
  .strict()
  .openapi('PaymentConfirmation');

/** A payment provider's notification (`POST /webhooks/payments`), e.g. a 3-D Secure outcome. */
export const PaymentNotification = z
  .object({
    id: z
      .string()
      .regex(/^[\x21-\x7E]{1,255}$/, '1 to 255 printable ASCII characters')
      .openapi({ description: 'The provider’s event id: each is applied once', example: 'evt_3ds_0001' }),
    type: z.string().min(1).max(100).openapi({
      description:
        'What happened. Handled: `payment.authentication.succeeded` and `payment.authentication.failed` (the customer passed or failed 3-D Secure); other types are acknowledged and ignored.',
      example: 'payment.authentication.succeeded',
    }),
    created: z.number().int().min(0).optional().openapi({ description: 'When the provider created it (unix seconds)' }),
    data: z
      .looseObject({
        orderId: z.uuid().optional().openapi({ description: 'The order it is about (required by the handled types)' }),
      })
      .openapi({ description: 'The event’s object; the handled types name the order' }),
  })
  .openapi('PaymentNotification');

export const PaymentNotificationReceipt = z
  .object({
    eventId: z.string(),
    outcome: z.enum(['applied', 'ignored']),
    duplicate: z.boolean().openapi({ description: 'A repeat of an event already applied: nothing changed' }),
    detail: z.string().optional(),
  })
  .openapi('PaymentNotificationReceipt');
