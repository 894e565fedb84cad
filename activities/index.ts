import type { CrashPoints } from '../lib/crash-points';
import type { Clock, Ids } from '../lib/runtime';
import type { Db } from '../lib/db';
import { createInventoryActivities } from './inventory';
import { createOrderActivities } from './orders';
import { createPaymentActivities } from './payments';
import type { Carrier } from './providers/carrier';
import type { PaymentProvider } from './providers/payment-provider';
import { createShippingActivities } from './shipping';

/** What every activity factory is given. Providers are added per domain. */
export interface ActivityDeps {
  db: Db;
  clock: Clock;
  ids: Ids;
  /** Test-only deaths (lib/crash-points.ts); none by default. */
  crashPoints?: CrashPoints;
}

export interface AllActivityDeps extends ActivityDeps {
  provider: PaymentProvider;
  carrier: Carrier;
}

/**
 * Every activity the saga worker registers, built over injected dependencies.
 *
 * @example
 * const activities = createActivities({ db, clock: systemClock, ids: randomIds, provider, carrier });
 * await Worker.create({ activities, ... });
 */
export function createActivities(deps: AllActivityDeps) {
  return {
    ...createInventoryActivities(deps),
    ...createPaymentActivities(deps),
    ...createShippingActivities(deps),
    ...createOrderActivities(deps),
  };
}

export type CheckoutActivities = ReturnType<typeof createActivities>;
