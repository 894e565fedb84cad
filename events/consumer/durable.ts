import type { ConsumerConfig, ConsumerInfo, JetStreamManager } from 'nats';
import { missingAsUndefined } from '../nats-errors';

/** A durable's full declaration: its name and every setting it should have. */
export type DurableConfig = Partial<ConsumerConfig> & { durable_name: string };

/**
 * Creates the durable consumer, or brings an existing one to `config` (its position kept).
 * Deliver policy and start time cannot change on a durable, so they apply to a new one only.
 * nats.js merges an update into the durable's current settings, so a single `filter_subject`
 * from an older declaration is cleared: the server refuses both filter forms together.
 *
 * @returns what the stream held under that name before (undefined: it was created).
 *
 * @example
 * await declareDurable(jsm, 'CHECKOUT', { durable_name: 'my-team-orders', ack_policy: AckPolicy.Explicit });
 */
export async function declareDurable(
  jsm: JetStreamManager,
  stream: string,
  config: DurableConfig,
): Promise<ConsumerInfo | undefined> {
  const existing = await missingAsUndefined(jsm.consumers.info(stream, config.durable_name));
  if (!existing) {
    await jsm.consumers.add(stream, config);
    return undefined;
  }
  const { deliver_policy: _policy, opt_start_time: _start, ...updatable } = config;
  await jsm.consumers.update(stream, config.durable_name, { ...updatable, filter_subject: undefined });
  return existing;
}
