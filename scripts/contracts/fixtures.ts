import { createHash } from 'node:crypto';
import { z } from 'zod';
import { serviceOf } from '../../events/catalog';
import { isObject, type JsonObject } from './json';

// Build-time only: the sample envelope of a new type or version. A committed sample is the
// published version's fixture and is never rewritten; one is generated only where none exists.

/** `time` of every generated sample: fixed, so regenerating writes the same bytes. */
const SAMPLE_TIME = '2026-01-01T00:00:00.000Z';

function hashHex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A version 4 shaped UUID derived from `seed`, so it is stable across runs. */
function stableUuid(seed: string): string {
  const h = hashHex(seed);
  const variant = ((parseInt(h.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * The data example of a schema: the first of `.meta({ examples: [...] })`, checked against the
 * schema; undefined when the schema declares none.
 */
function exampleOf(type: string, version: number, data: z.ZodType): JsonObject | undefined {
  const examples = z.globalRegistry.get(data)?.examples;
  if (examples === undefined) return undefined;
  const first: unknown = Array.isArray(examples) ? examples[0] : undefined;
  const parsed = data.safeParse(first);
  if (!parsed.success || !isObject(first))
    throw new Error(`${type} v${version}: its first example does not match its schema`);
  return first;
}

/**
 * A complete CloudEvents envelope of one type and version around its schema's example data,
 * for a version that has no sample yet; undefined when the schema has no example. The envelope's
 * `subject` is the example's `orderId`; `id`, `time` and `traceparent` are derived from the type
 * and version so the output is stable.
 *
 * @example
 * // events/schemas/payments.ts: export const paymentDisputedV1 = z.object({...}).meta({ examples: [{ orderId: '...', ... }] });
 * sampleEnvelope('payments.payment.disputed', 1, paymentDisputedV1); // { specversion: '1.0', id: '...', ... }
 */
export function sampleEnvelope(type: string, version: number, data: z.ZodType): JsonObject | undefined {
  const example = exampleOf(type, version, data);
  if (!example) return undefined;
  if (typeof example.orderId !== 'string')
    throw new Error(`${type} v${version}: its example needs an orderId, the envelope's subject`);
  const trace = hashHex(`trace:${type}.v${version}`);
  return {
    specversion: '1.0',
    id: stableUuid(`${type}.v${version}`),
    type,
    source: `/checkout-saga/${serviceOf(type)}`,
    subject: example.orderId,
    time: SAMPLE_TIME,
    datacontenttype: 'application/json',
    dataversion: version,
    traceparent: `00-${trace.slice(0, 32)}-${trace.slice(32, 48)}-01`,
    data: example,
  };
}
