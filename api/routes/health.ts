import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { ANY_PATH, problems } from '../responses';

export type ReadinessCheck = () => Promise<void>;

/**
 * A dependency `/readyz` reports. A `required` one being down makes the API unready (503: send
 * no traffic here); any other only degrades it (200), because checkouts still work without it,
 * and `impact` says what waits meanwhile.
 */
export interface Dependency {
  check: ReadinessCheck;
  required: boolean;
  /** What is delayed while an optional dependency is down. */
  impact?: string;
}

const Health = z.object({ status: z.literal('ok') }).openapi('Health');
const Readiness = z
  .object({
    status: z.enum(['ready', 'degraded', 'not ready']),
    checks: z.record(
      z.string(),
      z.object({
        status: z.enum(['ok', 'down']),
        required: z.boolean(),
        error: z.string().optional(),
        impact: z.string().optional(),
      }),
    ),
  })
  .openapi('Readiness');

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  summary: 'Liveness: the process answers',
  responses: {
    200: { description: 'Alive', content: { 'application/json': { schema: Health } } },
    ...problems(ANY_PATH),
  },
});

const readyRoute = createRoute({
  method: 'get',
  path: '/readyz',
  summary: 'Readiness: Postgres, NATS and Temporal each answer within 2 s',
  description:
    'Lists every dependency. Only PostgreSQL is required: without it no checkout can be accepted (503). NATS or Temporal down makes the API `degraded` (200): checkouts are still accepted and committed; their events and sagas follow once the dependency is back.',
  responses: {
    200: {
      description: 'Ready (every dependency answers) or degraded (an optional one is down; each is listed)',
      content: { 'application/json': { schema: Readiness } },
    },
    503: {
      description: 'A required dependency is down (each is listed)',
      content: { 'application/json': { schema: Readiness } },
    },
    ...problems(ANY_PATH),
  },
});

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  summary: 'Prometheus metrics: requests by route and status, latency histograms, process metrics',
  responses: {
    200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } },
    ...problems(ANY_PATH),
  },
});

async function withinTwoSeconds(check: ReadinessCheck): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out after 2s')), 2_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/healthz` (the process answers), `/readyz` (each dependency answers within 2 s; unready only
 * when a required one does not) and `/metrics` (Prometheus text); none needs a token.
 *
 * @example
 * app.route('/', healthRoutes({ postgres: { check: () => db.query('SELECT 1').then(() => undefined), required: true } }, metrics));
 */
export function healthRoutes(
  dependencies: Record<string, Dependency>,
  metrics: { text: () => Promise<string>; contentType: string },
) {
  return new OpenAPIHono()
    .openapi(healthRoute, (c) => c.json({ status: 'ok' as const }, 200))
    .openapi(readyRoute, async (c) => {
      const results = await Promise.all(
        Object.entries(dependencies).map(async ([name, { check, required, impact }]) => {
          try {
            await withinTwoSeconds(check);
            return [name, { status: 'ok' as const, required }] as const;
          } catch (err) {
            const error = err instanceof Error ? err.message : String(err);
            return [name, { status: 'down' as const, required, error, ...(impact ? { impact } : {}) }] as const;
          }
        }),
      );
      const down = results.filter(([, r]) => r.status === 'down');
      const status = down.some(([, r]) => r.required) ? 'not ready' : down.length > 0 ? 'degraded' : 'ready';
      const body = { status, checks: Object.fromEntries(results) } as const;
      return status === 'not ready' ? c.json(body, 503) : c.json(body, 200);
    })
    .openapi(metricsRoute, async (c) => c.text(await metrics.text(), 200, { 'Content-Type': metrics.contentType }));
}
