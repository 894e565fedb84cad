import { z } from 'zod';
import { dataSchemaFor, type DomainEvent } from './catalog';
import { TRACEPARENT_PATTERN } from './trace-context';

/** CloudEvents 1.0 structured-mode JSON envelope, as published on every subject. */
export const cloudEventSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.uuid(),
  type: z.string().regex(/^[a-z_]+\.[a-z_]+\.[a-z_]+$/),
  source: z.string().min(1),
  subject: z.string().min(1),
  time: z.iso.datetime({ offset: true }),
  datacontenttype: z.literal('application/json'),
  dataversion: z.number().int().min(1),
  traceparent: z.string().regex(TRACEPARENT_PATTERN),
  data: z.unknown(),
});
export type CloudEvent = z.infer<typeof cloudEventSchema>;

export type ParsedEvent = Omit<CloudEvent, 'type' | 'dataversion' | 'data'> & DomainEvent;

export type ParseResult =
  | { ok: true; event: ParsedEvent }
  | { ok: false; reason: 'invalid-envelope' | 'invalid-data'; message: string; type?: string }
  | { ok: false; reason: 'unknown-type'; type: string; dataversion: number; message: string };

/**
 * Parses a message body: envelope first, then `data` against the catalogue's schema for its
 * type and version. Unknown types are reported separately so consumers can skip them.
 *
 * @example
 * const r = parseEvent(new TextDecoder().decode(msg.data));
 * if (r.ok && r.event.type === 'checkout.order.placed') console.log(r.event.data.totalCents);
 */
export function parseEvent(body: string): ParseResult {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    return { ok: false, reason: 'invalid-envelope', message: `not JSON: ${(err as Error).message}` };
  }
  const envelope = cloudEventSchema.safeParse(json);
  if (!envelope.success) {
    return { ok: false, reason: 'invalid-envelope', message: z.prettifyError(envelope.error) };
  }
  const { type, dataversion } = envelope.data;
  const schema = dataSchemaFor(type, dataversion);
  if (!schema) {
    return { ok: false, reason: 'unknown-type', type, dataversion, message: `unknown event ${type} v${dataversion}` };
  }
  const data = schema.safeParse(envelope.data.data);
  if (!data.success) {
    return { ok: false, reason: 'invalid-data', type, message: z.prettifyError(data.error) };
  }
  return { ok: true, event: { ...envelope.data, data: data.data } as ParsedEvent };
}
