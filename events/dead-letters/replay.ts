import { headers as natsHeaders, type JetStreamClient, type JetStreamManager } from 'nats';
import { describeNatsError } from '../nats-errors';
import { deleteRaw, getRaw, header, listDeadLetters, NotADeadLetter } from './admin';
import { DLQ_HEADERS, DLQ_STREAM } from './publish';

/** Header on a replayed event naming the dead letter it came from (its DLQ stream sequence). */
export const REPLAYED_FROM_HEADER = 'Dlq-Replayed-From';

/** Where a replayed event landed. */
export interface ReplayResult {
  seq: number;
  subject: string;
  stream: string;
  streamSequence: number;
  /**
   * JetStream recognised `replay:<seq>` from an earlier attempt (one that published but did not
   * get to delete the dead letter), so nothing was published twice.
   */
  duplicate: boolean;
}

export type ReplayOutcome = { seq: number; ok: true; result: ReplayResult } | { seq: number; ok: false; error: Error };

/** The replay was not acknowledged by JetStream; the dead letter is kept. `cause` has the NATS error. */
export class ReplayPublishFailed extends Error {
  override name = 'ReplayPublishFailed';
  constructor(
    readonly seq: number,
    readonly subject: string,
    cause: unknown,
  ) {
    super(
      `replaying dead letter ${seq} to ${subject} failed, the dead letter is kept: ${describeNatsError(cause, subject)}`,
      { cause },
    );
  }
}

/** The replay was published but the dead letter could not be deleted; replaying it again is safe. */
export class DeadLetterNotRemoved extends Error {
  override name = 'DeadLetterNotRemoved';
  constructor(
    readonly result: ReplayResult,
    cause: unknown,
  ) {
    super(
      `dead letter ${result.seq} was replayed to ${result.subject} (${result.stream} #${result.streamSequence}) but could not be ` +
        `deleted from ${DLQ_STREAM} (${describeNatsError(cause)}); replaying it again is deduplicated or discard it`,
      { cause },
    );
  }
}

/**
 * Republishes a dead letter's body to its original subject, waits for JetStream's ack, and only
 * then deletes it from the DLQ. If the publish fails the dead letter stays and
 * `ReplayPublishFailed` is thrown.
 *
 * The original headers are kept (`traceparent` included) except the `Dlq-*` ones, stale
 * `Nats-Expected-*` preconditions and `Nats-Msg-Id`, which becomes `replay:<seq>`: the event id
 * is still inside JetStream's duplicate window of the original, which would drop it, and a
 * retried replay of the same dead letter is then dropped as a duplicate. `Dlq-Replayed-From`
 * names the dead letter.
 *
 * Every consumer of the original stream whose filter matches receives the replay, not only the
 * one that failed. That is safe because consumers deduplicate by CloudEvents `id` in Postgres: the
 * failed consumer never committed its processed mark, so it applies the event; the others find
 * their mark and acknowledge it as a duplicate. Other consumers that dead-lettered the same event
 * also apply it now, so replaying their dead letters afterwards is a no-op for them. The replay
 * lands after newer events of the same order, so it arrives out of order; an event that needs a
 * predecessor the consumer still has not applied is parked again rather than applied.
 *
 * @example
 * const r = await replayDeadLetter(nc.jetstream(), jsm, 42);
 * console.log(`now ${r.stream} #${r.streamSequence}`);
 * @throws DeadLetterNotFound, NotADeadLetter, ReplayPublishFailed, DeadLetterNotRemoved.
 */
export async function replayDeadLetter(js: JetStreamClient, jsm: JetStreamManager, seq: number): Promise<ReplayResult> {
  const raw = await getRaw(jsm, seq);
  const subject = header(raw.headers, DLQ_HEADERS.subject);
  if (!subject) throw new NotADeadLetter(seq);
  const h = natsHeaders();
  if (raw.headers) {
    for (const [k, vs] of raw.headers) {
      const lower = k.toLowerCase();
      if (lower.startsWith('dlq-') || lower === 'nats-msg-id' || lower.startsWith('nats-expected-')) continue;
      for (const v of vs) h.append(k, v);
    }
  }
  h.set(REPLAYED_FROM_HEADER, String(seq));
  let result: ReplayResult;
  try {
    const ack = await js.publish(subject, raw.data, { headers: h, msgID: `replay:${seq}` });
    result = { seq, subject, stream: ack.stream, streamSequence: ack.seq, duplicate: ack.duplicate };
  } catch (err) {
    throw new ReplayPublishFailed(seq, subject, err);
  }
  try {
    // false: a concurrent replay or discard removed it first; the event is out either way.
    await deleteRaw(jsm, seq);
  } catch (err) {
    throw new DeadLetterNotRemoved(result, err);
  }
  return result;
}

/**
 * Replays every dead letter (of one consumer), oldest first, one at a time. A failure is
 * reported and the rest still run; see {@link replayDeadLetter} for what a replay does. The set
 * is listed once at the start, so an event that fails again and comes back is not replayed in a loop.
 *
 * @example
 * const outcomes = await replayAll(js, jsm, { consumer: 'order-audit' }, (o) => console.log(o.seq, o.ok));
 * if (outcomes.some((o) => !o.ok)) process.exitCode = 1;
 */
export async function replayAll(
  js: JetStreamClient,
  jsm: JetStreamManager,
  options: { consumer?: string; limit?: number } = {},
  onOutcome?: (outcome: ReplayOutcome) => void,
): Promise<ReplayOutcome[]> {
  const outcomes: ReplayOutcome[] = [];
  for (const entry of await listDeadLetters(jsm, options)) {
    let outcome: ReplayOutcome;
    try {
      outcome = { seq: entry.seq, ok: true, result: await replayDeadLetter(js, jsm, entry.seq) };
    } catch (err) {
      outcome = { seq: entry.seq, ok: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
    outcomes.push(outcome);
    onOutcome?.(outcome);
  }
  return outcomes;
}
