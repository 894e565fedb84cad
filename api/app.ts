import { httpInstrumentationMiddleware } from '@hono/otel';
import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Authenticator } from '../auth/authenticate';
import type { Logger } from '../lib/logger';
import type { Clock } from '../lib/runtime';
import { authenticate, type AuthEnv } from './auth';
import { authorization, unguardedRoutes, type WriteQuotas } from './authorization';
import { CheckoutError } from '../checkouts/errors';
import type { CheckoutService } from '../checkouts/service';
import { databaseUnavailable, problemOf } from './domain-problems';
import { notFoundResponse, ProblemError, problemResponse, PROBLEM_BASE, validationProblem } from './problem';
import { BODY_LIMIT_BYTES, nulFieldErrors, requestGate } from './request-gate';
import { checkoutRoutes } from './routes/checkouts';
import { metricsMiddleware, type HttpMetrics } from './metrics';
import { healthRoutes, type Dependency } from './routes/health';
import { inventoryRoutes } from './routes/inventory';
import { orderRoutes } from './routes/orders';
import { paymentSignature, webhookRoutes } from './routes/webhooks';
import type { RateLimiter } from './rate-limiter';
import type { Db } from '../lib/db';

export interface AppDeps {
  db: Db;
  checkouts: CheckoutService;
  /** Resolves bearer tokens to principals (`auth/authenticate.ts`). */
  authenticator: Authenticator;
  /** Write quotas per principal and where they are counted. */
  rateLimits: { limiter: RateLimiter; quotas: WriteQuotas };
  /** Secrets the payment provider's notifications may be signed with (none: all refused). */
  paymentWebhookSecrets: readonly string[];
  clock: Clock;
  /** What `/readyz` reports: PostgreSQL required, the others optional. */
  readiness: Record<string, Dependency>;
  logger: Logger;
  /** The process's metrics; `/metrics` serves them and every request is counted. */
  metrics: HttpMetrics;
}

/** The OpenAPI description: the rules every route shares, so clients find them in one place. */
const API_DESCRIPTION = [
  'Every error is `application/problem+json` (RFC 9457) with `type`, `title`, `status`, `detail`, and `errors` (field paths) for validation failures.',
  `Request bodies are limited to ${BODY_LIMIT_BYTES} bytes (${BODY_LIMIT_BYTES / 1024} KiB; 413 above, chunked bodies included).`,
  'Routes that take a body need `Content-Type: application/json` (UTF-8; 415 otherwise).',
  'An unknown path is a 404; a known path with another method is a 405 with an `Allow` header.',
  'Authentication: a service token of `API_TOKENS`, or an OpenID Connect access token (JWT) of the configured provider; each operation lists the scope it needs in its security requirement. A customer (a token without `checkout:any`) acts on its own orders only: another customer’s order is a 404.',
  'Write operations are rate limited per principal: every answer carries the IETF `RateLimit-Policy` and `RateLimit` headers, and a spent quota is a 429 with `Retry-After`.',
].join(' ');

/** Path prefixes whose routes need a bearer token; each route there must have a policy. */
const AUTHENTICATED_PREFIXES = ['/checkouts', '/inventory', '/orders'] as const;

const DOCS_HTML = `<!doctype html><html><head><title>checkout-saga API</title><meta charset="utf-8"></head>
<body><script id="api-reference" data-url="/openapi.json"></script>
<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script></body></html>`;

/**
 * The HTTP API as a Hono app, over injected services (no I/O at construction).
 *
 * @example
 * const app = createApp({ db, checkouts, authenticator, rateLimits, paymentWebhookSecrets, clock, readiness, logger, metrics });
 * serve({ fetch: app.fetch, port: 3000 });
 */
export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<AuthEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw validationProblem(
          result.error.issues.map((i) => ({
            path: [result.target, ...i.path.map(String)].join('.'),
            message: i.message,
          })),
        );
      }
      // Valid per the schema is not yet storable: PostgreSQL refuses U+0000 (a 500 otherwise).
      const nul = nulFieldErrors(result.data, result.target);
      if (nul.length > 0) throw validationProblem(nul);
    },
  });
  // First, so every response (errors and 404s included) is traced, timed and counted. The server
  // span continues a caller's `traceparent`; its name is the route template, never the raw path.
  app.use('*', httpInstrumentationMiddleware({ captureActiveRequests: false }));
  app.use('*', metricsMiddleware(deps.metrics));
  // Then 404/405/415/413 before auth, and malformed JSON after it (see requestGate for why).
  const gate = requestGate(app, { maxBodyBytes: BODY_LIMIT_BYTES });
  app.use('*', gate.shape);

  // The one place errors become responses: the edge's own ProblemErrors, the services' checkout
  // errors through their table, an unreachable database as a 503, Hono's HTTPExceptions, and
  // anything else as a logged 500.
  app.onError((err, c) => {
    const unavailable = databaseUnavailable(err);
    if (unavailable) deps.logger.warn({ err, method: c.req.method, path: c.req.path }, 'database unavailable');
    const problem = err instanceof CheckoutError ? problemOf(err) : (unavailable ?? err);
    if (problem instanceof ProblemError) return problemResponse(c, problem.toProblem(), problem.headers);
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      return problemResponse(c, {
        type: `${PROBLEM_BASE}http-${status}`,
        title: err.message || 'Request error',
        status,
        detail: err.message,
      });
    }
    deps.logger.error({ err, method: c.req.method, path: c.req.path }, 'unhandled error');
    return problemResponse(c, {
      type: `${PROBLEM_BASE}internal`,
      title: 'Internal Server Error',
      status: 500,
      detail: 'an unexpected error occurred; it has been logged',
    });
  });
  app.notFound(notFoundResponse);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description:
      'A service token of API_TOKENS, or an OpenID Connect access token (JWT: AUTH_ISSUER, AUTH_AUDIENCE, keys from AUTH_JWKS_URL) whose `scope` (or `scp`) lists the scopes named by each operation',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'paymentSignature', {
    type: 'apiKey',
    in: 'header',
    name: 'Payment-Signature',
    description: '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with PAYMENT_WEBHOOK_SECRET>`',
  });
  app.route(
    '/',
    healthRoutes(deps.readiness, {
      text: () => deps.metrics.registry.metrics(),
      contentType: deps.metrics.registry.contentType,
    }),
  );
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'checkout-saga API', version: '1.0.0', description: API_DESCRIPTION },
  });
  app.get('/docs', (c) => c.html(DOCS_HTML));

  // Authentication, then the policy (scope, then the write quota), before any body is parsed.
  const guard = [authenticate(deps.authenticator, deps.logger), authorization(app, deps.rateLimits)] as const;
  // Hono's `/x/*` also matches `/x`: one registration per prefix, or a write would be counted twice.
  for (const prefix of AUTHENTICATED_PREFIXES) app.use(`${prefix}/*`, ...guard);
  app.use('/webhooks/payments', paymentSignature({ secrets: deps.paymentWebhookSecrets, clock: deps.clock }));
  app.use('*', gate.json);
  app.route('/', checkoutRoutes(deps.checkouts));
  app.route('/', inventoryRoutes(deps.db));
  app.route('/', orderRoutes(deps.db, deps.checkouts));
  app.route('/', webhookRoutes(deps.checkouts));
  const unguarded = unguardedRoutes(app, AUTHENTICATED_PREFIXES);
  if (unguarded.length > 0) throw new Error(`routes without an authorization policy: ${unguarded.join(', ')}`);
  return app;
}
