import { missingAsUndefined } from './nats-errors';
import { DiscardPolicy, nanos, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from 'nats';

/** One stream per owning service (first subject token), plus the dead-letter stream. */
export const STREAMS = [
  { name: 'CHECKOUT', subjects: ['checkout.>'], description: 'Order lifecycle events of the checkout service' },
  { name: 'INVENTORY', subjects: ['inventory.>'], description: 'Stock reservation events' },
  { name: 'PAYMENTS', subjects: ['payments.>'], description: 'Payment events' },
  { name: 'SHIPPING', subjects: ['shipping.>'], description: 'Shipment events' },
  { name: 'DLQ', subjects: ['dlq.>'], description: 'Dead letters: dlq.<consumer>.<original subject>' },
] as const;

export type StreamName = (typeof STREAMS)[number]['name'];

/** Stream holding a subject, e.g. `payments.payment.charged` -> `PAYMENTS`. */
export function streamFor(subject: string): StreamName {
  const stream = STREAMS.find((s) => s.subjects.some((p) => subject.startsWith(p.slice(0, -1))));
  if (!stream) throw new Error(`no stream holds subject ${subject}`);
  return stream.name;
}

export interface StreamSettings {
  replicas: number;
  /** How long JetStream remembers a Nats-Msg-Id; must outlast the relay's worst retry. */
  duplicateWindowMs: number;
  /** How long messages are kept (limits-based retention). */
  maxAgeMs: number;
}

const DAY_MS = 86_400_000;

/**
 * Creates or updates every stream to its declared configuration. Safe to call from every
 * process at start-up and concurrently.
 *
 * @example
 * await ensureStreams(nc.jetstreamManager(), { replicas: 1, duplicateWindowMs: 7_200_000, maxAgeMs: 7 * DAY_MS });
 */
export async function ensureStreams(jsm: JetStreamManager, settings: StreamSettings): Promise<void> {
  for (const stream of STREAMS) {
    const config: Partial<StreamConfig> & { name: string } = {
      name: stream.name,
      subjects: [...stream.subjects],
      description: stream.description,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      num_replicas: settings.replicas,
      duplicate_window: nanos(settings.duplicateWindowMs),
      max_age: nanos(stream.name === 'DLQ' ? 30 * DAY_MS : settings.maxAgeMs),
    };
    const existing = await missingAsUndefined(jsm.streams.info(stream.name));
    if (!existing) {
      try {
        await jsm.streams.add(config);
        continue;
      } catch (err) {
        // Another process created it between our info and add: fall through to update.
        if (!(err instanceof Error && /already in use|already exists/i.test(err.message))) throw err;
      }
    }
    await jsm.streams.update(stream.name, config);
  }
}

export const DEFAULT_MAX_AGE_MS = 7 * DAY_MS;
