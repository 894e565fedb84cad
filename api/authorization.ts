import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { authorize, isOperation, OPERATIONS, rateLimitClass, type Operation } from '../auth/policy';
import type { Principal } from '../auth/principal';
import { bearerChallenge, type AuthEnv } from './auth';
import { ProblemError } from './problem';
import type { RateDecision, RateLimiter, RatePolicy } from './rate-limiter';

/** Write quotas per class of principal; `undefined`: unlimited. */
export interface WriteQuotas {
  customer: RatePolicy | undefined;
  service: RatePolicy | undefined;
}

/**
 * What an authenticated route's OpenAPI definition says about its guard: its `operationId` (the
 * key of its policy) and the bearer scheme with the scope it needs (OpenAPI 3.1 lets a
 * non-OAuth2 security requirement list the roles it needs).
 *
 * @example
 * createRoute({ method: 'post', path: '/checkouts', ...guarded('placeCheckout'), … })
 */
export function guarded(operation: Operation) {
  const { scope } = OPERATIONS[operation] as { scope: string | undefined };
  return { operationId: operation, security: [{ bearerAuth: scope === undefined ? [] : [scope] }] };
}

/** `METHOD /hono/:path` of each OpenAPI route with an `operationId`, from the app's registry. */
function operationTable(app: OpenAPIHono<AuthEnv>): Map<string, string> {
  const table = new Map<string, string>();
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type !== 'route' || def.route.operationId === undefined) continue;
    // The same {param} -> :param rewrite @hono/zod-openapi applies when it registers the route.
    table.set(
      `${def.route.method.toUpperCase()} ${def.route.path.replaceAll(/\/{(.+?)}/g, '/:$1')}`,
      def.route.operationId,
    );
  }
  return table;
}

/**
 * The routes of `app` under the given path prefixes that have no policy in `auth/policy.ts`.
 * The app refuses to start with any (fail closed), so a new route cannot go out unguarded.
 */
export function unguardedRoutes(app: OpenAPIHono<AuthEnv>, prefixes: readonly string[]): string[] {
  const table = operationTable(app);
  return app.routes
    .filter((r) => r.method !== 'ALL' && prefixes.some((p) => r.path === p || r.path.startsWith(`${p}/`)))
    .map((r) => `${r.method} ${r.path}`)
    .filter((key) => {
      const operation = table.get(key);
      return operation === undefined || !isOperation(operation);
    });
}

/** RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers) for one quota. */
function rateLimitHeaders(name: string, policy: RatePolicy, decision: RateDecision): Record<string, string> {
  return {
    'RateLimit-Policy': `"${name}";q=${policy.limit};w=${policy.windowSeconds}`,
    RateLimit: `"${name}";r=${decision.remaining};t=${decision.resetSeconds}`,
  };
}

async function enforceQuota(c: Context<AuthEnv>, principal: Principal, opts: AuthorizationOptions): Promise<void> {
  const kind = rateLimitClass(principal);
  const policy = opts.quotas[kind];
  if (policy === undefined) return;
  const decision = await opts.limiter.take(`${kind}:${principal.id}`, policy);
  const headers = rateLimitHeaders(`${kind}-writes`, policy, decision);
  if (!decision.allowed) {
    throw new ProblemError(429, {
      slug: 'rate-limited',
      detail: `at most ${policy.limit} write requests per ${policy.windowSeconds} s per principal; retry after ${decision.retryAfterSeconds} s`,
      headers: { ...headers, 'Retry-After': String(decision.retryAfterSeconds) },
    });
  }
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
}

export interface AuthorizationOptions {
  limiter: RateLimiter;
  quotas: WriteQuotas;
}

/**
 * Applies `auth/policy.ts` to each authenticated request, after `authenticate`: finds the matched
 * route's operation, answers 403 (with an RFC 6750 `insufficient_scope` challenge) when the
 * principal lacks its scope, then counts a write operation against the principal's quota: 429
 * with Retry-After when it is spent, and the IETF RateLimit headers on every write's answer.
 * Ownership of orders is not decided here but in the checkout's use cases (another customer's
 * order is "not found" there).
 *
 * @example
 * app.use('/checkouts/*', authenticate(authenticator, logger), authorization(app, { limiter, quotas }));
 */
export function authorization(app: OpenAPIHono<AuthEnv>, opts: AuthorizationOptions): MiddlewareHandler<AuthEnv> {
  let table: Map<string, string> | undefined;
  return async (c, next) => {
    table ??= operationTable(app);
    const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL');
    const operation = route ? table.get(`${route.method} ${route.path}`) : undefined;
    // The app checks at start-up that every guarded route has a policy; this is the backstop.
    if (operation === undefined || !isOperation(operation))
      throw new Error(`no authorization policy for ${c.req.method} ${c.req.path}`);
    const principal = c.get('principal');
    const missing = authorize(principal, operation as Operation);
    if (missing !== undefined) {
      throw new ProblemError(403, {
        slug: 'insufficient-scope',
        detail: `this operation needs the ${missing} scope`,
        headers: { 'WWW-Authenticate': bearerChallenge({ error: 'insufficient_scope', scope: missing }) },
      });
    }
    if (OPERATIONS[operation].writes) await enforceQuota(c, principal, opts);
    await next();
  };
}
