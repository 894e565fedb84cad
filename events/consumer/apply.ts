import type { EventType } from '../catalog';
import { parseEvent, type ParsedEvent } from '../envelope';
import { isProcessed, lockOrderForConsumer, markProcessed, missingPredecessors } from './inbox';
import { park, parkedFor, unpark } from './parking';
import type { ConsumerRuntime } from './runtime';
import { handlerOf, type StepHandler } from './settings';
import type { Tx } from './transaction';
import type { EventOf, MessageInfo, Outcome } from './types';

/**
 * Applies one event inside `tx`, keyed on its `subject`: takes the per-order lock, skips a
 * duplicate, parks it while a predecessor is missing, else marks it processed and runs the
 * handler, then applies the parked events of the order that were waiting for it.
 */
export async function applyEvent(
  rt: ConsumerRuntime,
  tx: Tx,
  event: ParsedEvent,
  handler: StepHandler,
  body: string,
  info: MessageInfo,
): Promise<Outcome> {
  const name = rt.settings.name;
  await lockOrderForConsumer(tx, name, event.subject);
  if (await isProcessed(tx, name, event.id)) return 'duplicate';
  const missing = await missingPredecessors(tx, name, event.subject, handler.after);
  if (missing.length > 0) {
    await park(tx, name, event, missing, body, info);
    rt.logger.info(
      { eventId: event.id, orderId: event.subject, type: event.type, waitingFor: missing },
      'event parked until its predecessor is applied',
    );
    return 'parked';
  }
  await markProcessed(tx, name, event);
  await handler.handle(event as EventOf<EventType>, { tx, message: info });
  // Without predecessors nothing is ever parked, so skip the per-event lookup (a round trip each).
  if (rt.settings.mayPark) await applyParked(rt, tx, event.subject);
  return 'applied';
}

/** Applies, in this transaction, every parked event of the order whose predecessors are now all applied. */
async function applyParked(rt: ConsumerRuntime, tx: Tx, orderId: string): Promise<void> {
  const name = rt.settings.name;
  let progress = true;
  while (progress) {
    progress = false;
    for (const p of await parkedFor(tx, name, orderId)) {
      if ((await missingPredecessors(tx, name, orderId, p.waitingFor)).length > 0) continue;
      const parsed = parseEvent(p.body);
      if (!parsed.ok) throw new Error(`parked event ${p.eventId} no longer parses: ${parsed.message}`);
      const handler = handlerOf(rt.settings.handlers, parsed.event.type);
      await unpark(tx, name, p.eventId);
      if (handler && !(await isProcessed(tx, name, p.eventId))) {
        const stillMissing = await missingPredecessors(tx, name, orderId, handler.after);
        if (stillMissing.length > 0) {
          await park(tx, name, parsed.event, stillMissing, p.body, p.info);
          continue;
        }
        await markProcessed(tx, name, parsed.event);
        await handler.handle(parsed.event as EventOf<EventType>, { tx, message: p.info });
        rt.tally.count('unparked');
        rt.logger.info({ eventId: p.eventId, orderId, type: p.eventType }, 'parked event applied');
      }
      progress = true;
    }
  }
}
