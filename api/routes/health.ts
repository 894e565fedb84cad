import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';

export type ReadinessCheck = () => Promise<void>;

const Health = z.object({ status: z.literal('ok') }).openapi('Health');
const Readiness = z
  .object({
    status: z.enum(['ready', 'not ready']),
    checks: z.record(z.string(), z.object({ status: z.enum(['ok', 'down']), error: z.string().optional() })),
  })
  .openapi('Readiness');

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  summary: 'Liveness: the process answers',
  responses: { 200: { description: 'Alive', content: { 'application/json': { schema: Health } } } },
});

const readyRoute = createRoute({
  method: 'get',
  path: '/readyz',
  summary: 'Readiness: Postgres, NATS and Temporal each answer within 2 s',
  responses: {
    200: { description: 'Every dependency answers', content: { 'application/json': { schema: Readiness } } },
    503: {
      description: 'At least one dependency is down (each is listed)',
      content: { 'application/json': { schema: Readiness } },
    },
  },
});

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  summary: 'Prometheus metrics: requests by route and status, latency histograms, process metrics',
  responses: {
    200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } },
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
 * `/healthz` (the process answers), `/readyz` (every dependency answers within 2 s) and
 * `/metrics` (Prometheus text); none needs a token.
 *
 * @example
 * app.route('/', healthRoutes({ postgres: () => db.query('SELECT 1').then(() => undefined) }, () => registry.metrics()));
 */
export function healthRoutes(
  checks: Record<string, ReadinessCheck>,
  metrics: { text: () => Promise<string>; contentType: string },
) {
  return new OpenAPIHono()
    .openapi(healthRoute, (c) => c.json({ status: 'ok' as const }, 200))
    .openapi(readyRoute, async (c) => {
      const results = await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          try {
            await withinTwoSeconds(check);
            return [name, { status: 'ok' as const }] as const;
          } catch (err) {
            return [
              name,
              { status: 'down' as const, error: err instanceof Error ? err.message : String(err) },
            ] as const;
          }
        }),
      );
      const ready = results.every(([, r]) => r.status === 'ok');
      const body = { status: ready ? ('ready' as const) : ('not ready' as const), checks: Object.fromEntries(results) };
      return ready ? c.json(body, 200) : c.json(body, 503);
    })
    .openapi(metricsRoute, async (c) => c.text(await metrics.text(), 200, { 'Content-Type': metrics.contentType }));
}
