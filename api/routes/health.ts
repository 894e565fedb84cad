import { Hono } from 'hono';

export type ReadinessCheck = () => Promise<void>;

/**
 * `/healthz` (the process answers) and `/readyz` (every dependency answers within 2 s).
 *
 * @example
 * app.route('/', healthRoutes({ postgres: () => db.query('SELECT 1').then(() => undefined) }));
 */
export function healthRoutes(checks: Record<string, ReadinessCheck>) {
  return new Hono()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      const results = await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          let timer: NodeJS.Timeout | undefined;
          try {
            await Promise.race([
              check(),
              new Promise((_, reject) => {
                timer = setTimeout(() => reject(new Error('timed out after 2s')), 2_000);
              }),
            ]);
            return [name, { status: 'ok' }] as const;
          } catch (err) {
            return [name, { status: 'down', error: err instanceof Error ? err.message : String(err) }] as const;
          } finally {
            clearTimeout(timer);
          }
        }),
      );
      const ready = results.every(([, r]) => r.status === 'ok');
      return c.json({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) }, ready ? 200 : 503);
    });
}
