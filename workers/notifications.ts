import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import type { ConsumerPlacement } from '../subscribers/definition';
import { notifications } from '../subscribers/notifications';
import { runSubscriber, runSubscriberIfMain } from './subscriber-host';

/**
 * Runs the notifications subscriber (subscribers/notifications.ts) in this process, e.g. in a
 * test, with its consumer placed beside a live deployment's.
 *
 * @example
 * await runNotifications(loadConfig(), logger, signal);
 */
export function runNotifications(
  config: Config,
  logger: Logger,
  signal: AbortSignal,
  placement: ConsumerPlacement = {},
): Promise<void> {
  return runSubscriber(notifications, config, logger, signal, placement);
}

/** Entry point of the notifications subscriber. */
await runSubscriberIfMain(import.meta.url, notifications);
