import { AckPolicy, DeliverPolicy, nanos, type JetStreamManager } from 'nats';
import { declareDurable, type DurableConfig } from '../events/consumer/durable';
import { missingAsUndefined } from '../events/nats-errors';
import type { Logger } from '../lib/logger';
import { TEAMS, type Team, type TeamDurable } from './teams';

/** The pull consumer a {@link TeamDurable} stands for. `deliverFrom` only applies to a new durable. */
export function teamDurableConfig(d: TeamDurable, deliverFrom?: Date): DurableConfig {
  return {
    durable_name: d.name,
    ack_policy: AckPolicy.Explicit,
    ...(deliverFrom
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: deliverFrom.toISOString() }
      : { deliver_policy: DeliverPolicy.All }),
    filter_subjects: [...d.filterSubjects],
    max_deliver: d.maxDeliver,
    ack_wait: nanos(d.ackWaitMs),
    max_ack_pending: d.maxAckPending,
  };
}

export type TeamDurableOutcome = 'created' | 'updated' | 'replaced';

/**
 * Declares one team durable: creates it, or brings an existing one to its declared settings and
 * keeps its position. A durable that has a deliver subject is a push consumer nobody here
 * declared (from before teams lost the right to create consumers): it is deleted and declared
 * again, because its deliver subject is where JetStream publishes the stream.
 */
export async function declareTeamDurable(
  jsm: JetStreamManager,
  d: TeamDurable,
  options: { deliverFrom?: Date } = {},
): Promise<TeamDurableOutcome> {
  const config = teamDurableConfig(d, options.deliverFrom);
  const existing = await missingAsUndefined(jsm.consumers.info(d.stream, d.name));
  if (existing?.config.deliver_subject) {
    // Another relay replacing it at the same moment may have deleted it first.
    await missingAsUndefined(jsm.consumers.delete(d.stream, d.name));
    await jsm.consumers.add(d.stream, config);
    return 'replaced';
  }
  return (await declareDurable(jsm, d.stream, config)) ? 'updated' : 'created';
}

/**
 * Declares every team's durables after the streams exist (the relay calls it at start; the
 * relay's NATS user may create, read and delete exactly these durables). A durable that cannot
 * be declared (a NATS user whose permissions predate the team entry, a durable whose fixed
 * settings differ) is logged as an error and skipped: one team's durable must never stop the
 * relay from publishing the outbox for everyone. Returns how many failed.
 *
 * @example
 * await declareStreams(nc, config.nats);
 * await declareTeamDurables(await nc.jetstreamManager(), logger);
 */
export async function declareTeamDurables(
  jsm: JetStreamManager,
  logger: Logger,
  teams: readonly Team[] = TEAMS,
): Promise<number> {
  let failed = 0;
  for (const team of teams)
    for (const durable of team.durables) {
      try {
        const outcome = await declareTeamDurable(jsm, durable);
        if (outcome === 'replaced')
          logger.warn({ team: team.name, durable: durable.name }, 'replaced a push consumer on a team durable');
      } catch (err) {
        failed++;
        logger.error(
          { err, team: team.name, stream: durable.stream, durable: durable.name },
          'could not declare a team durable (the relay needs CONSUMER.INFO/CREATE/DELETE on it: docs/events.md, Adding a team); relaying anyway',
        );
      }
    }
  return failed;
}
