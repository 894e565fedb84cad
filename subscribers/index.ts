import { audit } from './audit';
import type { Subscriber } from './definition';
import { notifications } from './notifications';
import { readModel } from './read-model';

/**
 * Every subscriber of this app, one line each: `npm start` runs each in its own process
 * (`workers/subscriber-host.ts <name>`), in this order.
 */
export const SUBSCRIBERS: readonly Subscriber[] = [audit, readModel, notifications];
