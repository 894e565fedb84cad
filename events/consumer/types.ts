import type { NatsConnection } from 'nats';
import type { EventType } from '../catalog';
import type { ParsedEvent } from '../envelope';
import type { ConsumerMetrics } from '../metrics';
import type { StreamName } from '../streams';
import type { Db, Tx } from './transaction';

/** One event of type `T`, narrowed from the catalogue's union. */
export type EventOf<T extends EventType> = Extract<ParsedEvent, { type: T }>;

/** Where a message came from; kept with a parked event so it can be dead-lettered faithfully later. */
export interface MessageInfo {
  /** NATS subject the message was published on (the event type). */
  subject: string;
  stream: string;
  streamSequence: number;
  deliveryCount: number;
  headers: Record<string, string[]>;
}

/** What a handler gets besides the event: the transaction its effects must use, and where the event came from. */
export interface HandlerContext {
  tx: Tx;
  message: MessageInfo;
}

export type HandlerFn<E> = (event: E, ctx: HandlerContext) => Promise<void>;

/**
 * A handler, or a handler with predecessors: `after` lists event types that must already have been
 * applied for the same order; until they are, the event is parked (acknowledged at the source and
 * kept in Postgres) and applied right after the last of them.
 */
export type HandlerSpec<T extends EventType> =
  HandlerFn<EventOf<T>> | { after: readonly EventType[]; handle: HandlerFn<EventOf<T>> };

export type Handlers = { [T in EventType]?: HandlerSpec<T> };

export interface ConsumerOptions {
  /** Durable consumer name: also the owner of its processed marks and `dlq.<name>.<subject>`. */
  name: string;
  stream: StreamName;
  handlers: Handlers;
  /** Subjects to receive; default: the types that have handlers. */
  filterSubjects?: string[];
  /** Handlers running at once; events of one order always run one after another. Default 8. */
  concurrency?: number;
  /**
   * `batch`: the events of a pull batch commit in one transaction (effects and processed marks),
   * duplicates are filtered by one statement, acks go out after the commit; several times the
   * throughput. `per-event` (default): one transaction and one acknowledged ack per event; use it
   * when a handler has side effects outside the database (an e-mail, an HTTP call), which a batch
   * retried after another event's failure would repeat.
   */
  mode?: 'per-event' | 'batch';
  /** Most events in one batch transaction (batch mode). Default 100. */
  batchSize?: number;
  /**
   * How long processed marks are kept; older ones are swept in small batches once a minute.
   * Default 8 days: longer than the stream's max age (7 days), so a replay or redelivery still
   * finds its mark. `null` keeps them forever.
   */
  markRetentionMs?: number | null;
  /** Deliveries before a failing event is dead-lettered. Default 5. */
  maxDeliver?: number;
  /** Redelivery delays after the 1st, 2nd, ... failure; the last repeats. */
  backoffMs?: number[];
  /** How long the server waits for an ack before redelivering. Default 30 s. */
  ackWaitMs?: number;
  /** Unacknowledged messages the server lets this consumer hold: the backpressure bound. Default 256. */
  maxAckPending?: number;
  /** Start at messages stored at or after this time instead of the whole stream (new consumers only). */
  deliverFrom?: Date;
  /** A parked event whose predecessor has not arrived after this long is dead-lettered. Default 1 h. */
  maxParkedMs?: number;
  /** Test and tracing seam: runs after the commit, before the ack. */
  afterCommit?: (event: ParsedEvent, outcome: Outcome) => Promise<void>;
}

export type Outcome = 'applied' | 'duplicate' | 'parked';

/** Counters since start, for logs and metrics. */
export interface ConsumerStats {
  applied: number;
  duplicates: number;
  parked: number;
  unparked: number;
  retried: number;
  deadLettered: number;
  unknownTypes: number;
  unhandledTypes: number;
}

/**
 * The logging the kit does: structured fields plus a message, and `child` for fields every line of
 * one consumer carries. A pino logger fits as it is.
 */
export interface ConsumerLogger {
  child(bindings: Record<string, unknown>): ConsumerLogger;
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ConsumerDeps {
  nc: NatsConnection;
  db: Db;
  logger: ConsumerLogger;
  now?: () => Date;
  /** Prometheus (or other) metrics; none by default. See `createConsumerMetrics`. */
  metrics?: ConsumerMetrics;
}
