import { STREAMS } from '../events/streams';
import { inboxPrefix } from '../lib/nats';
import { EVENT_STREAMS, EVENT_SUBJECTS, PRINCIPALS, type Durable, type Principal } from './principals';
import { TEAMS, type Team } from './teams';

/**
 * Publish/subscribe allow and deny lists of one NATS user. JetStream is an API over subjects, so
 * each JetStream call a process makes is a subject it may publish to (nats-server's
 * `$JS.API.*` constants; docs.nats.io "JetStream wire API Reference"):
 * - `$JS.API.INFO`: account info, which `jetstreamManager()` asks for first;
 * - `$JS.API.STREAM.{INFO,CREATE,UPDATE,DELETE,PURGE}.<stream>`, `$JS.API.STREAM.MSG.{GET,DELETE}.<stream>`;
 * - `$JS.API.CONSUMER.CREATE.<stream>.<consumer>[.<filter>]` (nats.js on servers from 2.9) and
 *   `$JS.API.CONSUMER.DURABLE.CREATE.<stream>.<durable>` (what nats.js still uses for a consumer
 *   with several `filter_subjects`); the server refuses a body whose name differs from the
 *   subject's. `$JS.API.CONSUMER.CREATE.<stream>` alone is never granted: there the name is only
 *   in the body, which permissions cannot see;
 * - `$JS.API.CONSUMER.{INFO,DELETE,MSG.NEXT}.<stream>.<consumer>`;
 * - `$JS.ACK.<stream>.<consumer>.>`: acks, naks and in-progress of a delivered message.
 * Replies come to the connection's inbox, `_INBOX.<user>.>` (lib/nats.ts sets that prefix), so
 * no user can read another's replies.
 */
export interface NatsPermissions {
  publish: { allow: string[]; deny?: string[] };
  subscribe: { allow: string[]; deny?: string[] };
}

/** Reading one durable: its info, its messages, and acks (naks, in-progress) on them. */
function readSubjects(d: Durable): string[] {
  return [
    `$JS.API.CONSUMER.INFO.${d.stream}.${d.name}`,
    `$JS.API.CONSUMER.MSG.NEXT.${d.stream}.${d.name}`,
    `$JS.ACK.${d.stream}.${d.name}.>`,
  ];
}

/** Declaring one durable (create or update), besides reading it. */
function declareSubjects(d: Durable): string[] {
  return [
    `$JS.API.CONSUMER.CREATE.${d.stream}.${d.name}`,
    `$JS.API.CONSUMER.CREATE.${d.stream}.${d.name}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${d.stream}.${d.name}`,
  ];
}

function consumerSubjects(d: Durable): string[] {
  return [...declareSubjects(d), ...readSubjects(d)];
}

/** Every team's durables, as the relay declares them. */
const teamDurables = (teams: readonly Team[]): Durable[] =>
  teams.flatMap((t) => t.durables.map((d) => ({ stream: d.stream, name: d.name })));

const base = (user: string, publish: string[]): NatsPermissions => ({
  publish: { allow: ['$JS.API.INFO', ...publish] },
  subscribe: { allow: [`${inboxPrefix(user)}.>`] },
});

/** A subscriber: its durables, the streams' info, and dead letters under its consumers' names. */
function subscriberPermissions(p: Principal, durables: readonly Durable[]): NatsPermissions {
  const streams = [...new Set(durables.map((d) => d.stream)), 'DLQ'];
  const names = [...new Set(durables.map((d) => d.name))];
  return base(p.name, [
    ...streams.map((s) => `$JS.API.STREAM.INFO.${s}`),
    ...durables.flatMap(consumerSubjects),
    ...names.map((n) => `dlq.${n}.>`),
  ]);
}

/** What each of the checkout's own principals may do on NATS (undefined: it never connects). */
export function principalPermissions(p: Principal): NatsPermissions | undefined {
  if (!p.nats) return undefined;
  if (p.durables) return subscriberPermissions(p, p.durables);
  switch (p.name) {
    case 'admin':
      return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
    case 'api':
      // Only the readiness check's flush (PING/PONG), which needs no subject at all.
      return { publish: { allow: [], deny: ['>'] }, subscribe: { allow: [], deny: ['>'] } };
    case 'outbox-relay':
      // The relay publishes every event and is the one principal that declares the streams, and
      // beside them the teams' durables (access/teams.ts says why a team cannot declare its own).
      return base(p.name, [
        ...EVENT_SUBJECTS,
        // The streams it declares by name (events/streams.ts), not any stream of the account.
        ...STREAMS.flatMap((st) => ['INFO', 'CREATE', 'UPDATE'].map((verb) => `$JS.API.STREAM.${verb}.${st.name}`)),
        ...teamDurables(TEAMS).flatMap((d) => [
          ...declareSubjects(d),
          `$JS.API.CONSUMER.INFO.${d.stream}.${d.name}`,
          `$JS.API.CONSUMER.DELETE.${d.stream}.${d.name}`,
        ]),
      ]);
    case 'dlq':
      // Lists, shows, deletes and replays dead letters: a replay republishes the original subject.
      return base(p.name, [
        ...EVENT_SUBJECTS,
        '$JS.API.STREAM.INFO.DLQ',
        '$JS.API.STREAM.MSG.GET.DLQ',
        '$JS.API.STREAM.MSG.DELETE.DLQ',
        '$JS.API.CONSUMER.CREATE.DLQ.*',
        '$JS.API.CONSUMER.CREATE.DLQ.*.>',
        '$JS.API.CONSUMER.INFO.DLQ.*',
        '$JS.API.CONSUMER.DELETE.DLQ.*',
        '$JS.API.CONSUMER.MSG.NEXT.DLQ.*',
      ]);
    default:
      throw new Error(`no NATS permissions written for principal ${p.name}`);
  }
}

/**
 * Another team: reads the event streams through the durables the relay declares for it (read,
 * next, ack, delete), nothing else. It may not create a consumer, not even its own: a push
 * consumer's deliver subject is not checked against its creator's permissions (access/teams.ts).
 * The denies repeat what the allow list already leaves out, so that a later widening of the allow
 * list cannot silently let a team forge events, declare consumers or administer streams.
 */
export function teamPermissions(team: Team): NatsPermissions {
  const durables = teamDurables([team]);
  return {
    publish: {
      allow: [
        '$JS.API.INFO',
        '$JS.API.STREAM.NAMES',
        ...EVENT_STREAMS.map((s) => `$JS.API.STREAM.INFO.${s}`),
        ...durables.flatMap(readSubjects),
        ...durables.map((d) => `$JS.API.CONSUMER.DELETE.${d.stream}.${d.name}`),
        // Its own dead letters, in the shared DLQ where `npm run dlq` shows them; nobody else's.
        ...team.durables.map((d) => `dlq.${d.name}.>`),
      ],
      deny: [
        ...EVENT_SUBJECTS,
        '$JS.API.CONSUMER.CREATE.>',
        '$JS.API.CONSUMER.DURABLE.CREATE.>',
        '$JS.API.STREAM.CREATE.>',
        '$JS.API.STREAM.UPDATE.>',
        '$JS.API.STREAM.DELETE.>',
        '$JS.API.STREAM.PURGE.>',
        '$JS.API.STREAM.MSG.DELETE.>',
      ],
    },
    subscribe: { allow: [`${inboxPrefix(team.name)}.>`] },
  };
}

/** Every NATS user the stack provisions, with its permissions: the principals, then the teams. */
export function natsUsers(): { user: string; permissions: NatsPermissions }[] {
  const own = PRINCIPALS.flatMap((p) => {
    const permissions = principalPermissions(p);
    return permissions ? [{ user: p.name, permissions }] : [];
  });
  return [...own, ...TEAMS.map((t) => ({ user: t.name, permissions: teamPermissions(t) }))];
}
