import { AckPolicy, ConsumerEvents, DeliverPolicy, nanos, type ConsumerMessages, type JetStreamManager } from 'nats';
import { parseEvent } from '../envelope';
import { batchItem } from './batch';
import { declareDurable, type DurableConfig } from './durable';
import { Batcher } from './batcher';
import { sweepParked } from './expiry';
import { KeyedQueue } from './keyed-queue';
import { runMarkSweeper } from './mark-retention';
import type { ConsumerRuntime } from './runtime';
import { handlerOf } from './settings';
import { settleMessage } from './settle';
import type { ConsumerSettings } from './settings';
import { sleep } from './sleep';

const decoder = new TextDecoder();

/**
 * Consumes until `signal` aborts. When the message loop fails or ends unexpectedly (NATS restarted,
 * consumer deleted) it is restarted, waiting 0.5 s doubling to 10 s between attempts.
 */
export async function runPullLoop(rt: ConsumerRuntime, signal: AbortSignal): Promise<void> {
  let backoffMs = 500;
  while (!signal.aborted) {
    try {
      await consumeOnce(rt, signal);
      backoffMs = 500;
    } catch (err) {
      rt.logger.warn({ err, retryInMs: backoffMs }, 'consumer loop failed; restarting');
    }
    if (!signal.aborted) {
      await sleep(backoffMs, signal);
      backoffMs = Math.min(backoffMs * 2, 10_000);
    }
  }
}

function durableConfig(s: ConsumerSettings): DurableConfig {
  return {
    durable_name: s.name,
    ack_policy: AckPolicy.Explicit,
    ...(s.deliverFrom
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: s.deliverFrom.toISOString() }
      : { deliver_policy: DeliverPolicy.All }),
    filter_subjects: s.filterSubjects ?? Object.keys(s.handlers),
    // Dead-lettering is decided here, after our own count, so the server never drops silently.
    max_deliver: -1,
    ack_wait: nanos(s.ackWaitMs),
    max_ack_pending: s.maxAckPending,
  };
}

/** Creates the durable consumer, or brings an existing one to the declared configuration. */
async function ensureConsumer(rt: ConsumerRuntime, jsm: JetStreamManager): Promise<void> {
  await declareDurable(jsm, rt.settings.stream, durableConfig(rt.settings));
}

/**
 * One pass of the message loop: pulls with idle heartbeats and hands each message to a queue that
 * runs one order's events one after another. Returns after abort once in-flight handlers finished;
 * throws if the message stream ends without an abort.
 */
async function consumeOnce(rt: ConsumerRuntime, signal: AbortSignal): Promise<void> {
  const jsm = await rt.nc.jetstreamManager();
  await ensureConsumer(rt, jsm);
  const consumer = await rt.nc.jetstream().consumers.get(rt.settings.stream, rt.settings.name);
  const messages = await consumer.consume({
    max_messages: Math.min(rt.settings.maxAckPending, 100),
    idle_heartbeat: 5_000,
  });
  const stop = () => {
    void messages.close();
  };
  signal.addEventListener('abort', stop, { once: true });
  // Aborted while the consumer was being set up: no abort event will come, so stop now (the
  // loop below then ends at once) instead of consuming until the grace period kills the process.
  if (signal.aborted) stop();
  const queue = new KeyedQueue(rt.settings.concurrency);
  const batcher =
    rt.settings.mode === 'batch'
      ? new Batcher(rt, rt.settings.batchSize, (err, n) =>
          rt.logger.error({ err, messages: n }, 'could not settle a batch; it will be redelivered'),
        )
      : undefined;
  const watching = watchStatus(rt, messages, jsm);
  const sweeping = sweepParked(rt, signal, messages);
  const sweepingMarks = runMarkSweeper(rt, signal, messages);
  try {
    for await (const msg of messages) {
      // Parsed once here: the result gives the per-order key (the event's subject) and is what
      // settling uses. A message that does not parse runs on a key of its own.
      const body = decoder.decode(msg.data);
      const parsed = parseEvent(body);
      // Batch mode takes the events it has a handler for; the rest (unknown, unhandled, invalid)
      // are settled one by one as in per-event mode: none of them has an effect to commit.
      const handler = batcher && parsed.ok ? handlerOf(rt.settings.handlers, parsed.event.type) : undefined;
      if (batcher && parsed.ok && handler) {
        batcher.push(batchItem(rt, msg, parsed.event, handler, body));
        continue;
      }
      queue.push(
        parsed.ok ? parsed.event.subject : `${msg.subject}#${msg.info.streamSequence}`,
        () => settleMessage(rt, msg, body, parsed),
        (err) => {
          // Settling failed (NATS unreachable): the server redelivers after ack_wait.
          rt.logger.error(
            { err, subject: msg.subject, seq: msg.info.streamSequence },
            'could not settle message; it will be redelivered',
          );
        },
      );
    }
  } finally {
    signal.removeEventListener('abort', stop);
    await messages.close();
    await queue.idle();
    await batcher?.idle();
    await Promise.all([watching, sweeping, sweepingMarks]);
  }
  if (!signal.aborted) throw new Error('message stream ended unexpectedly');
}

/** Logs missed heartbeats and JetStream outages; recreates the durable consumer when it was deleted. */
async function watchStatus(rt: ConsumerRuntime, messages: ConsumerMessages, jsm: JetStreamManager): Promise<void> {
  for await (const status of await messages.status()) {
    switch (status.type) {
      case ConsumerEvents.HeartbeatsMissed:
        rt.logger.warn({ missed: status.data }, 'JetStream heartbeats missed; re-pulling');
        break;
      case ConsumerEvents.ConsumerDeleted:
      case ConsumerEvents.ConsumerNotFound:
        rt.logger.warn({ status: status.type }, 'durable consumer missing; recreating it');
        await ensureConsumer(rt, jsm).catch((err: unknown) =>
          rt.logger.warn({ err }, 'could not recreate consumer yet'),
        );
        break;
      case ConsumerEvents.StreamNotFound:
      case ConsumerEvents.NoResponders:
        rt.logger.warn({ status: status.type, data: status.data }, 'JetStream unavailable; waiting');
        break;
      default:
        break;
    }
  }
}
