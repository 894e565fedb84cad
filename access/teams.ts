import type { EVENT_STREAMS } from './principals';

/**
 * A durable another team reads the checkout's events through. The platform declares it (the
 * relay, at start, beside the streams: access/team-durables.ts), never the team itself:
 * nats-server does not check a push consumer's deliver subject against its creator's publish
 * permissions (nats-io/nats-server#8274, open), so a user allowed to create consumers could have
 * JetStream deliver the stream onto `payments.payment.charged` and forge events no permission
 * lets it publish. A team gets read, next, ack and delete on its own durables, nothing more.
 */
export interface TeamDurable {
  /** Starts with the team's name by convention (NATS permissions cannot express a name prefix). */
  name: string;
  stream: (typeof EVENT_STREAMS)[number];
  filterSubjects: readonly string[];
  /** How often JetStream redelivers an unacked message before the team's code must dead-letter. */
  maxDeliver: number;
  ackWaitMs: number;
  maxAckPending: number;
}

export interface Team {
  name: string;
  durables: readonly TeamDurable[];
}

/** The teams the stack provisions: a NATS user each, and their durables; docs/events.md says how to add one. */
export const TEAMS: readonly Team[] = [
  {
    name: 'example-team',
    durables: [
      {
        name: 'example-team-orders',
        stream: 'CHECKOUT',
        filterSubjects: ['checkout.order.>'],
        maxDeliver: 5,
        ackWaitMs: 30_000,
        maxAckPending: 256,
      },
    ],
  },
];

/** The declared durable of that name, of whichever team. */
export function teamDurable(name: string): TeamDurable {
  const found = TEAMS.flatMap((t) => t.durables).find((d) => d.name === name);
  if (!found) throw new Error(`no team declares a durable named ${name} (access/teams.ts)`);
  return found;
}
