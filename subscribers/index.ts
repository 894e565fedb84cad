import { audit } from './audit';
import type { Subscriber } from './definition';
import { notifications } from './notifications';
import { readModel } from './read-model';

/**
 * Every subscriber of this app, one line each: `npm start` runs each in its own process
 * (`workers/subscriber-host.ts <name>`), in this order, as its own principal (access/principals.ts
 * builds its NATS user and PostgreSQL role from the definition).
 */
export const SUBSCRIBERS = [audit, readModel, notifications] as const satisfies readonly Subscriber[];

/** A subscriber's name, which is also its principal's. */
export type SubscriberName = (typeof SUBSCRIBERS)[number]['name'];
