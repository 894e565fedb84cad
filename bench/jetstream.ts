import { DeliverPolicy, type NatsConnection } from 'nats';

/** Last sequence of a stream. */
export async function lastSeq(nc: NatsConnection, stream: string): Promise<number> {
  const info = await (await nc.jetstreamManager()).streams.info(stream);
  return info.state.last_seq;
}

/**
 * When JetStream stored each message, by `Nats-Msg-Id`, reading `count` messages after `afterSeq`
 * with an ordered consumer. The server takes the timestamp as it stores the message; the publish
 * ack follows the store.
 *
 * @example
 * const stored = await storedTimes(nc, 'CHECKOUT', seqBefore, 300); // Map<msgId, epoch ms>
 */
export async function storedTimes(
  nc: NatsConnection,
  stream: string,
  afterSeq: number,
  count: number,
): Promise<Map<string, number>> {
  const consumer = await nc
    .jetstream()
    .consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSeq + 1 });
  const messages = await consumer.consume();
  const out = new Map<string, number>();
  for await (const msg of messages) {
    const id = msg.headers?.get('Nats-Msg-Id');
    if (id) out.set(id, msg.info.timestampNanos / 1e6);
    // Leaving the loop stops the subscription (a close() after it would never resolve).
    if (msg.seq >= afterSeq + count) break;
  }
  return out;
}

/** Wall-clock now in epoch milliseconds with sub-millisecond precision (same clock as JetStream's timestamps on this machine). */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
