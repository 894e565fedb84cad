import type { ConsumerDeps, EventConsumer } from 'checkout-saga/events';
import type { Durable, TableGrants } from '../access/types';
import type { Config } from '../lib/config';
import type { CrashPoints } from '../lib/crash-points';
import type { Logger } from '../lib/logger';

/**
 * Where a subscriber's durable consumer sits: its name (default: the subscriber's own) and, for a
 * new consumer, the earliest message time. Tests use both to run beside a live deployment.
 */
export interface ConsumerPlacement {
  name?: string;
  deliverFrom?: Date;
}

/** What a subscriber's consumers are built with, besides the process's connections. */
export interface SubscriberContext {
  config: Config;
  logger: Logger;
  placement: ConsumerPlacement;
  /** Test-only deaths (lib/crash-points.ts); none by default. */
  crashPoints?: CrashPoints;
}

/**
 * The consumer option that reaches `subscriber.after-commit` between a commit and its ack, when
 * crash points are given; nothing otherwise.
 *
 * @example
 * createConsumer(deps, { name, stream, handlers, ...afterCommitCrash(context) });
 */
export function afterCommitCrash(context: Pick<SubscriberContext, 'crashPoints'>): {
  afterCommit?: () => Promise<void>;
} {
  const points = context.crashPoints;
  if (!points) return {};
  return {
    afterCommit: async () => {
      points.reach('subscriber.after-commit');
    },
  };
}

/**
 * One subscriber: its handlers, wired to kit consumers, and what it may do. `workers/subscriber-host.ts`
 * runs it in a process of its own; listing it in `subscribers/index.ts` is what makes `npm start`
 * run it and gives it a principal (access/principals.ts): a NATS user limited to `durables`, and
 * a PostgreSQL role with `tables`, the consumer kit's tables (only its durables' rows) and the
 * kit's per-order lock.
 */
export interface Subscriber<N extends string = string> {
  /** Process and principal name: its logger, tracing service, NATS user and `npm start`'s label. */
  name: N;
  /** NATS connection name and Postgres application_name. */
  appName: string;
  /** Its PostgreSQL role (created by `stack:up`, or a DBA from access/postgres-roles.ts). */
  pgRole: string;
  /**
   * The durable consumers its `consumers` create: the only ones its NATS user may create, read
   * and ack, and the only consumer names whose kit rows its role reaches.
   */
  durables: readonly Durable[];
  /** Its own tables and the statements its handlers run on them. */
  tables: TableGrants;
  /** Files that run it besides `workers/subscriber-host.ts <name>` (e.g. `workers/audit.ts`). */
  entryPoints?: readonly string[];
  /** The kit consumers to run, built on the process's NATS connection and Postgres pool. */
  consumers(deps: ConsumerDeps, context: SubscriberContext): EventConsumer[];
}

/**
 * A subscriber, its name kept as a literal type so principal names stay checked at compile time.
 *
 * @example
 * export const loyalty = defineSubscriber({ name: 'loyalty', appName: 'checkout-loyalty', ... });
 */
export function defineSubscriber<const N extends string>(subscriber: Subscriber<N>): Subscriber<N> {
  return subscriber;
}
