import type { AppDeps } from '../../api/app';
import { postgresRateLimiter } from '../../api/rate-limiter';
import { runApi } from '../../api/server';
import { createAuthenticator } from '../../auth/authenticate';
import { SCOPES } from '../../auth/principal';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import type { Logger } from '../../lib/logger';
import { systemClock } from '../../lib/runtime';
import { runSagaStarter } from '../../workers/saga-starter';

/**
 * Runs the real API in this process until `signal` aborts, with the saga starter that starts the
 * sagas of the orders it accepts (unless `sagaStarter: false`, to see orders before their saga).
 * `base` resolves to its URL once it listens, or rejects if the API fails before that (so a test
 * never waits forever).
 *
 * @example
 * const api = startApi(testConfig({ PORT: '0' }), logger, stop.signal);
 * running.push(api.running);
 * const base = await api.base;
 */
export function startApi(
  config: Config,
  logger: Logger,
  signal: AbortSignal,
  options: { sagaStarter?: boolean } = {},
): { running: Promise<void>; base: Promise<string> } {
  let onListening: (port: number) => void = () => undefined;
  const listening = new Promise<number>((resolve) => {
    onListening = resolve;
  });
  const runs = [runApi(config, logger, signal, onListening)];
  if (options.sagaStarter ?? true) runs.push(runSagaStarter(config, logger, signal));
  const running = Promise.all(runs).then(() => undefined);
  const failedEarly = running.then(() => {
    throw new Error('the API stopped before it listened');
  });
  return { running, base: Promise.race([listening, failedEarly]).then((port) => `http://127.0.0.1:${port}`) };
}

/**
 * The access part of `createApp`'s deps for a test that builds the app itself: one service token
 * with every scope, no OIDC provider, no quotas (so nothing is counted in `db`), and no webhook
 * secret (every notification refused).
 *
 * @example
 * const app = createApp({ db, checkouts, ...serviceTokenAccess(db, TOKEN), readiness: {}, logger, metrics });
 */
export function serviceTokenAccess(
  db: Db,
  token: string,
): Pick<AppDeps, 'authenticator' | 'rateLimits' | 'paymentWebhookSecrets' | 'clock'> {
  return {
    authenticator: createAuthenticator({ serviceTokens: [{ token, scopes: SCOPES }], jwt: undefined }),
    rateLimits: { limiter: postgresRateLimiter(db), quotas: { customer: undefined, service: undefined } },
    paymentWebhookSecrets: [],
    clock: systemClock,
  };
}

/** Where a test's orders ship to, unless it says otherwise. */
const ADDRESS = { name: 'Ada', line1: '1 Main St', city: 'Berlin', postalCode: '10115' };

/**
 * A POST /checkouts body the API accepts: `quantity` of `sku`, paid with `method`, shipped to `country`.
 *
 * @example
 * body: JSON.stringify(checkoutRequest({ customerId: 'cust-e2e', sku, method: 'pm_card_3ds' })),
 */
export function checkoutRequest(options: {
  customerId: string;
  sku?: string;
  quantity?: number;
  method?: string;
  country?: string;
}) {
  return {
    customerId: options.customerId,
    items: [{ sku: options.sku ?? 'SKU-001', quantity: options.quantity ?? 1 }],
    payment: { method: options.method ?? 'pm_card_visa' },
    shippingAddress: { ...ADDRESS, country: options.country ?? 'DE' },
  };
}
