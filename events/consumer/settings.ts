import type { EventType } from '../catalog';
import type { ParsedEvent } from '../envelope';
import { STREAMS, type StreamName } from '../streams';
import { DEFAULT_MARK_RETENTION_MS } from './mark-retention';
import type { ConsumerOptions, EventOf, HandlerFn, Handlers, HandlerSpec, Outcome } from './types';

/** A handler with its predecessors spelled out (none for a plain function). */
export interface StepHandler {
  after: readonly EventType[];
  handle: HandlerFn<EventOf<EventType>>;
}

/** `ConsumerOptions` checked, with every default filled in. */
export interface ConsumerSettings {
  name: string;
  stream: StreamName;
  handlers: Handlers;
  filterSubjects: string[] | undefined;
  concurrency: number;
  mode: 'per-event' | 'batch';
  batchSize: number;
  /** Undefined: marks are kept forever. */
  markRetentionMs: number | undefined;
  maxDeliver: number;
  backoffMs: number[];
  ackWaitMs: number;
  maxAckPending: number;
  deliverFrom: Date | undefined;
  maxParkedMs: number;
  afterCommit: ((event: ParsedEvent, outcome: Outcome) => Promise<void>) | undefined;
  /** Whether any handler declares predecessors; only then can this consumer have parked events. */
  mayPark: boolean;
}

function normalise<T extends EventType>(
  spec: HandlerSpec<T>,
): { after: readonly EventType[]; handle: HandlerFn<EventOf<T>> } {
  return typeof spec === 'function' ? { after: [], handle: spec } : spec;
}

/** The handler of `type` in `handlers`, with its predecessors; undefined when the consumer has none. */
export function handlerOf(handlers: Handlers, type: EventType): StepHandler | undefined {
  const spec = handlers[type] as HandlerSpec<EventType> | undefined;
  return spec ? normalise(spec) : undefined;
}

/**
 * Checks `options` and fills in the defaults. Throws for a name that cannot be a durable name, an
 * unknown stream, or a handler waiting for a type this consumer does not handle.
 *
 * @example
 * const settings = resolveSettings({ name: 'order-audit', stream: 'CHECKOUT', handlers });
 * settings.maxDeliver; // 5
 */
export function resolveSettings(options: ConsumerOptions): ConsumerSettings {
  if (!/^[A-Za-z0-9_-]+$/.test(options.name))
    throw new Error(`consumer name ${options.name} must be letters, digits, - or _`);
  if (!STREAMS.some((s) => s.name === options.stream)) throw new Error(`unknown stream ${options.stream}`);
  if (options.batchSize !== undefined && (!Number.isInteger(options.batchSize) || options.batchSize < 1))
    throw new Error(`batchSize must be a positive integer, got ${options.batchSize}`);
  const specs = Object.entries(options.handlers) as [EventType, HandlerSpec<EventType>][];
  for (const [type, spec] of specs) {
    for (const before of normalise(spec).after) {
      if (!options.handlers[before])
        throw new Error(`handler for ${type} waits for ${before}, which this consumer does not handle`);
    }
  }
  return {
    name: options.name,
    stream: options.stream,
    handlers: options.handlers,
    filterSubjects: options.filterSubjects,
    concurrency: options.concurrency ?? 8,
    mode: options.mode ?? 'per-event',
    batchSize: options.batchSize ?? 100,
    markRetentionMs:
      options.markRetentionMs === null ? undefined : (options.markRetentionMs ?? DEFAULT_MARK_RETENTION_MS),
    maxDeliver: options.maxDeliver ?? 5,
    backoffMs: options.backoffMs ?? [1_000, 5_000, 15_000, 60_000],
    ackWaitMs: options.ackWaitMs ?? 30_000,
    maxAckPending: options.maxAckPending ?? 256,
    deliverFrom: options.deliverFrom,
    maxParkedMs: options.maxParkedMs ?? 3_600_000,
    afterCommit: options.afterCommit,
    mayPark: specs.some(([, spec]) => normalise(spec).after.length > 0),
  };
}
