import type { Consumer, JetStreamManager, MsgHdrs } from 'nats';
import { JsApiErrorCode, jsApiErrorCode, jsApiErrorDescription } from '../nats-errors';
import { DLQ_HEADERS, DLQ_STREAM } from './publish';

/** One dead letter as listed: what failed, where it came from, and why. */
export interface DeadLetterEntry {
  /** Sequence in the DLQ stream: the handle for show, replay and discard. */
  seq: number;
  /** When the dead letter was stored in the DLQ stream. */
  time: Date;
  consumer: string;
  originalSubject: string;
  originalStream: string | undefined;
  originalSequence: number | undefined;
  deliveryCount: number | undefined;
  error: string;
  /** CloudEvents `id` (the key consumers deduplicate by). */
  eventId: string | undefined;
  eventType: string | undefined;
  /** CloudEvents `subject`: what the event is about (the order id of the checkout's events). */
  eventSubject: string | undefined;
}

/** A dead letter in full: the entry plus every header and the body. */
export interface DeadLetter extends DeadLetterEntry {
  /** Subject in the DLQ stream, `dlq.<consumer>.<original subject>`. */
  subject: string;
  /** Every header, in stored order; a header may repeat. */
  headers: Record<string, string[]>;
  data: Uint8Array;
  /** The body as text (a CloudEvents JSON envelope unless the producer sent something else). */
  body: string;
}

/** No dead letter has this sequence: never stored, already replayed or discarded, or expired. */
export class DeadLetterNotFound extends Error {
  override name = 'DeadLetterNotFound';
  constructor(
    readonly seq: number,
    detail = `no dead letter with sequence ${seq} in stream ${DLQ_STREAM}`,
  ) {
    super(detail);
  }
}

/** The message at this sequence lacks the `Dlq-Original-Subject` header, so it cannot be replayed. */
export class NotADeadLetter extends Error {
  override name = 'NotADeadLetter';
  constructor(readonly seq: number) {
    super(
      `message ${seq} in stream ${DLQ_STREAM} has no ${DLQ_HEADERS.subject} header; it cannot be replayed (discard it instead)`,
    );
  }
}
function assertSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new RangeError(`not a stream sequence: ${seq}`);
}

/**
 * Throws for a consumer name that would turn into a wildcard or span tokens of the
 * `dlq.<consumer>.>` filter (durable names never contain `.`, `*`, `>` or white space).
 *
 * @example
 * assertConsumerName('order-audit'); // ok
 * assertConsumerName('a.b');         // throws RangeError
 */
export function assertConsumerName(name: string): void {
  if (!/^[^.*>\s]+$/.test(name)) throw new RangeError(`not a consumer name: ${JSON.stringify(name)}`);
}

/** A DLQ message as stored. */
export interface RawDeadLetter {
  seq: number;
  subject: string;
  time: Date;
  headers: MsgHdrs | undefined;
  data: Uint8Array;
}

const decoder = new TextDecoder();

function intHeader(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

export function header(h: MsgHdrs | undefined, name: string): string | undefined {
  const v = h?.get(name);
  return v ? v : undefined;
}

function toEntry(raw: RawDeadLetter): DeadLetterEntry {
  const h = raw.headers;
  // Headers are authoritative; the subject is the fallback for a dead letter written by hand.
  const [, subjectConsumer = '', ...rest] = raw.subject.split('.');
  let envelope: { id?: unknown; type?: unknown; subject?: unknown } = {};
  try {
    const parsed: unknown = JSON.parse(decoder.decode(raw.data));
    if (parsed && typeof parsed === 'object') envelope = parsed;
  } catch {
    // An unparseable body is a common reason to be here; the entry just lacks id and type.
  }
  return {
    seq: raw.seq,
    time: raw.time,
    consumer: header(h, DLQ_HEADERS.consumer) ?? subjectConsumer,
    originalSubject: header(h, DLQ_HEADERS.subject) ?? rest.join('.'),
    originalStream: header(h, DLQ_HEADERS.stream),
    originalSequence: intHeader(header(h, DLQ_HEADERS.streamSequence)),
    deliveryCount: intHeader(header(h, DLQ_HEADERS.deliveryCount)),
    error: header(h, DLQ_HEADERS.error) ?? '',
    // The dead letter's own Nats-Msg-Id is `dlq:...`; the original one is kept in its own header.
    eventId: header(h, DLQ_HEADERS.originalMsgId) ?? (typeof envelope.id === 'string' ? envelope.id : undefined),
    eventType: typeof envelope.type === 'string' ? envelope.type : undefined,
    eventSubject: typeof envelope.subject === 'string' ? envelope.subject : undefined,
  };
}

/** The DLQ message at `seq`; throws `DeadLetterNotFound` when there is none. */
export async function getRaw(jsm: JetStreamManager, seq: number): Promise<RawDeadLetter> {
  assertSeq(seq);
  try {
    const m = await jsm.streams.getMessage(DLQ_STREAM, { seq });
    return { seq: m.seq, subject: m.subject, time: m.time, headers: m.header, data: m.data };
  } catch (err) {
    const code = jsApiErrorCode(err);
    if (code === JsApiErrorCode.NoMessageFound) throw new DeadLetterNotFound(seq);
    if (code === JsApiErrorCode.StreamNotFound)
      throw new DeadLetterNotFound(seq, `no dead letter ${seq}: stream ${DLQ_STREAM} does not exist`);
    throw err;
  }
}

/** Deletes a DLQ message; false when it was already gone. */
export async function deleteRaw(jsm: JetStreamManager, seq: number): Promise<boolean> {
  try {
    // No erase: the same bytes stay in the source stream, so overwriting them here buys nothing.
    return await jsm.streams.deleteMessage(DLQ_STREAM, seq, false);
  } catch (err) {
    const code = jsApiErrorCode(err);
    if (code === JsApiErrorCode.StreamNotFound) return false;
    // A missing message is not a 404 here: the delete fails (500) with a description saying so.
    if (code === JsApiErrorCode.StreamMsgDeleteFailed && /no message found|EOF/i.test(jsApiErrorDescription(err))) {
      return false;
    }
    throw err;
  }
}

/**
 * Lists dead letters, oldest first, optionally of one consumer. Reads the DLQ stream through an
 * ordered consumer (ephemeral, in memory, deleted afterwards), so listing leaves no durable state
 * and acknowledges nothing.
 *
 * @example
 * const jsm = await nc.jetstreamManager();
 * for (const d of await listDeadLetters(jsm, { consumer: 'order-audit', limit: 50 })) console.log(d.seq, d.error);
 * await listDeadLetters(jsm, { eventSubject: orderId }); // one order's dead letters, of every consumer
 */
export async function listDeadLetters(
  jsm: JetStreamManager,
  options: { consumer?: string; limit?: number; eventSubject?: string } = {},
): Promise<DeadLetterEntry[]> {
  const { consumer: name, limit = Number.POSITIVE_INFINITY, eventSubject } = options;
  if (name !== undefined) assertConsumerName(name);
  if (!(limit >= 0)) throw new RangeError(`not a limit: ${limit}`);
  const entries: DeadLetterEntry[] = [];
  if (limit === 0) return entries;
  let consumer: Consumer | undefined;
  try {
    consumer = await jsm.jetstream().consumers.get(DLQ_STREAM, { filterSubjects: name ? `dlq.${name}.>` : 'dlq.>' });
    // info() creates the ephemeral consumer; its pending count tells us when we have read everything.
    const info = await consumer.info();
    let pending = info.num_pending;
    while (pending > 0 && entries.length < limit) {
      const batch = await consumer.fetch({
        max_messages: Math.min(pending, limit - entries.length, 500),
        expires: 5_000,
      });
      let read = 0;
      for await (const m of batch) {
        read += 1;
        const entry = toEntry({
          seq: m.seq,
          subject: m.subject,
          time: new Date(Math.floor(m.info.timestampNanos / 1e6)),
          headers: m.headers,
          data: m.data,
        });
        // The subject is in the body, which no server-side filter sees: read all, keep the matches.
        if (eventSubject === undefined || entry.eventSubject === eventSubject) entries.push(entry);
        pending = m.info.pending;
        if (pending === 0 || entries.length >= limit) break;
      }
      // Messages deleted while we read (a concurrent replay) can leave a fetch empty.
      if (read === 0) break;
    }
  } catch (err) {
    // No DLQ stream yet: nothing was ever dead-lettered (the ordered consumer looks it up first).
    if (jsApiErrorCode(err) === JsApiErrorCode.StreamNotFound) return entries;
    throw err;
  } finally {
    // The server would drop it after its inactivity threshold anyway; this just tidies up now.
    await consumer?.delete().catch(() => undefined);
  }
  return entries;
}

/**
 * One dead letter with every header and its body.
 *
 * @example
 * const d = await showDeadLetter(jsm, 42);
 * console.log(d.headers['traceparent'], JSON.parse(d.body));
 * @throws DeadLetterNotFound for an unknown sequence.
 */
export async function showDeadLetter(jsm: JetStreamManager, seq: number): Promise<DeadLetter> {
  const raw = await getRaw(jsm, seq);
  const headers: Record<string, string[]> = {};
  if (raw.headers) for (const [k, vs] of raw.headers) headers[k] = [...(headers[k] ?? []), ...vs];
  return { ...toEntry(raw), subject: raw.subject, headers, data: raw.data, body: decoder.decode(raw.data) };
}

/**
 * Deletes a dead letter without replaying it, and returns what it was.
 *
 * @example
 * const gone = await discardDeadLetter(jsm, 42);
 * console.log(`discarded ${gone.eventType} for ${gone.consumer}`);
 * @throws DeadLetterNotFound for an unknown sequence.
 */
export async function discardDeadLetter(jsm: JetStreamManager, seq: number): Promise<DeadLetterEntry> {
  const entry = toEntry(await getRaw(jsm, seq));
  if (!(await deleteRaw(jsm, seq))) throw new DeadLetterNotFound(seq);
  return entry;
}

/**
 * How many dead letters of `consumer` wait in the DLQ stream: the stream's per-subject counts
 * under `dlq.<consumer>.>`, one server call whatever the depth (one subject per event type).
 * 0 when no DLQ stream exists yet.
 *
 * @example
 * const depth = await countDeadLetters(await nc.jetstreamManager(), 'order-read-model');
 */
export async function countDeadLetters(jsm: JetStreamManager, consumer: string): Promise<number> {
  assertConsumerName(consumer);
  try {
    const info = await jsm.streams.info(DLQ_STREAM, { subjects_filter: `dlq.${consumer}.>` });
    return Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
  } catch (err) {
    if (jsApiErrorCode(err) === JsApiErrorCode.StreamNotFound) return 0;
    throw err;
  }
}
