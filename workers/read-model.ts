import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import type { ConsumerPlacement } from '../subscribers/definition';
import { readModel } from '../subscribers/read-model';
import { runSubscriber, runSubscriberIfMain } from './subscriber-host';

/**
 * Runs the order read model (subscribers/read-model.ts) in this process, e.g. in a test, with its
 * consumer placed beside a live deployment's.
 *
 * @example
 * await runReadModel(loadConfig(), logger, signal);
 */
export function runReadModel(
  config: Config,
  logger: Logger,
  signal: AbortSignal,
  placement: ConsumerPlacement = {},
): Promise<void> {
  return runSubscriber(readModel, config, logger, signal, placement);
}

/** Entry point of the order read model. */
await runSubscriberIfMain(import.meta.url, readModel);
