import type { NatsConnection } from 'nats';
import { noopConsumerMetrics, type ConsumerMetrics } from '../metrics';
import { resolveSettings, type ConsumerSettings } from './settings';
import { Tally } from './tally';
import type { Db } from './transaction';
import type { ConsumerDeps, ConsumerLogger, ConsumerOptions } from './types';

/** What every part of one consumer shares: its settings, connections, clock, logger and tally. */
export interface ConsumerRuntime {
  readonly settings: ConsumerSettings;
  readonly nc: NatsConnection;
  readonly db: Db;
  /** Carries the consumer's name and stream on every line. */
  readonly logger: ConsumerLogger;
  readonly now: () => Date;
  readonly metrics: ConsumerMetrics;
  readonly tally: Tally;
}

/** Checks `options` (see `resolveSettings`) and binds them to `deps`. */
export function createRuntime(deps: ConsumerDeps, options: ConsumerOptions): ConsumerRuntime {
  const logger = deps.logger.child({ consumer: options.name, stream: options.stream });
  const now = deps.now ?? (() => new Date());
  const metrics = deps.metrics ?? noopConsumerMetrics;
  const settings = resolveSettings(options);
  const tally = new Tally({ consumer: settings.name, stream: settings.stream }, metrics, now);
  return { settings, nc: deps.nc, db: deps.db, logger, now, metrics, tally };
}
