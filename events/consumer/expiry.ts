import type { ConsumerMessages } from 'nats';
import { publishDeadLetter } from '../dead-letters/publish';
import { expiredParked, unpark } from './parking';
import type { ConsumerRuntime } from './runtime';
import { sleep } from './sleep';
import { withTransaction } from './transaction';

const PARK_SWEEP_EVERY_MS = 30_000;

/**
 * Until `signal` aborts or `messages` closes, periodically dead-letters parked events whose
 * predecessor never came (see {@link expireParked}).
 */
export async function sweepParked(rt: ConsumerRuntime, signal: AbortSignal, messages: ConsumerMessages): Promise<void> {
  const maxParkedMs = rt.settings.maxParkedMs;
  const closed = new AbortController();
  void messages.closed().finally(() => closed.abort());
  const either = AbortSignal.any([signal, closed.signal]);
  while (!either.aborted) {
    await sleep(Math.min(PARK_SWEEP_EVERY_MS, maxParkedMs), either);
    if (either.aborted) break;
    try {
      await expireParked(rt, maxParkedMs);
    } catch (err) {
      rt.logger.warn({ err }, 'could not sweep parked events; will retry');
    }
  }
}

/** Dead-letters parked events older than `maxParkedMs`; returns how many. */
export async function expireParked(rt: ConsumerRuntime, maxParkedMs: number): Promise<number> {
  const js = rt.nc.jetstream();
  const name = rt.settings.name;
  return withTransaction(rt.db, async (tx) => {
    const expired = await expiredParked(tx, name, maxParkedMs, 100);
    for (const p of expired) {
      const waited = Math.round((rt.now().getTime() - p.parkedAt.getTime()) / 1000);
      const reason = `parked ${waited}s waiting for ${p.waitingFor.join(', ')} of order ${p.orderId}`;
      await publishDeadLetter(
        js,
        {
          consumer: name,
          subject: p.info.subject,
          data: new TextEncoder().encode(p.body),
          headers: Object.entries(p.info.headers),
          deliveryCount: p.info.deliveryCount,
          stream: p.info.stream,
          streamSequence: p.info.streamSequence,
        },
        reason,
        rt.now(),
      );
      await unpark(tx, name, p.eventId);
      rt.tally.count('dead_lettered');
      rt.logger.warn(
        { eventId: p.eventId, orderId: p.orderId, type: p.eventType, reason },
        'parked event dead-lettered',
      );
    }
    return expired.length;
  });
}
