import { createConsumer } from 'checkout-saga/events';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { hostConsumers } from '../../workers/subscriber-host';
import { recordEffect } from './kit-effects';

/**
 * A consumer in its own process, so a test can SIGKILL it. Arguments: consumer name, deliver-from
 * ISO time, and `hang-after-commit` to print `COMMITTED <event id>` after the first commit and
 * never acknowledge (the window a crash between commit and ack hits), or `hang-mid-batch` to print
 * `HANGING <event id>` in the third handler call and never return (a crash inside a batch's
 * transaction, after some of its handlers ran). KIT_MODE=batch runs the kit in
 * batch mode.
 */
const [name, from, mode] = process.argv.slice(2);
if (!name || !from)
  throw new Error('usage: kit-child.ts <consumer> <deliver-from ISO> [hang-after-commit | hang-mid-batch]');
const config = loadConfig();
const logger = createLogger('kit-child', config.logLevel);
const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
let hung = false;
let calls = 0;
await hostConsumers(config, logger, stop.signal, 'kit-child', (deps) => [
  createConsumer(deps, {
    name,
    stream: 'CHECKOUT',
    deliverFrom: new Date(from),
    ackWaitMs: 2_000,
    mode: process.env.KIT_MODE === 'batch' ? 'batch' : 'per-event',
    handlers: {
      'checkout.order.placed': async (event, { tx }) => {
        await recordEffect(tx, name, event);
        calls += 1;
        if (mode === 'hang-mid-batch' && calls === 3) {
          process.stdout.write(`HANGING ${event.id}\n`);
          await new Promise(() => undefined);
        }
      },
    },
    afterCommit: async (event) => {
      if (mode !== 'hang-after-commit' || hung) return;
      hung = true;
      process.stdout.write(`COMMITTED ${event.id}\n`);
      await new Promise(() => undefined);
    },
  }),
]);
