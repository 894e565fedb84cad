import type { ConsumerDeps, EventConsumer } from 'checkout-saga/events';
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
 * One subscriber: its handlers, wired to kit consumers. `workers/subscriber-host.ts` runs it in a
 * process of its own; listing it in `subscribers/index.ts` is what makes `npm start` run it.
 */
export interface Subscriber {
  /** Process name: its logger, its tracing service and `npm start`'s label for it. */
  name: string;
  /** NATS connection name and Postgres application_name. */
  appName: string;
  /** The kit consumers to run, built on the process's NATS connection and Postgres pool. */
  consumers(deps: ConsumerDeps, context: SubscriberContext): EventConsumer[];
}
