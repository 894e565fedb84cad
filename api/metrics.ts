import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { Counter, Histogram, type Registry } from 'prom-client';
import { createProcessRegistry } from '../lib/metrics-server';

/** Request metrics of the API, registered on the process's own registry (no global state). */
export interface HttpMetrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route' | 'status'>;
}

/**
 * Creates the API's registry: process metrics (CPU, memory, event loop lag) plus request count
 * and latency by method, route template and status. The route is the matched template
 * (`/checkouts/:orderId`), never the raw path, so the label set stays bounded.
 *
 * @example
 * const metrics = createHttpMetrics();
 * app.use('*', metricsMiddleware(metrics));
 */
export function createHttpMetrics(): HttpMetrics {
  const registry = createProcessRegistry();
  return {
    registry,
    requests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

/** Unknown paths share one label value, so a scanner cannot blow up the series count. */
function routeLabel(route: string): string {
  return route.includes('*') ? 'unmatched' : route;
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Times every request and counts it once it has its final status (error responses included). */
export function metricsMiddleware(metrics: HttpMetrics): MiddlewareHandler {
  return async (c, next) => {
    const end = metrics.duration.startTimer();
    try {
      await next();
    } finally {
      const labels = {
        method: KNOWN_METHODS.has(c.req.method) ? c.req.method : 'OTHER',
        route: routeLabel(routePath(c, -1)),
        status: String(c.res.status),
      };
      end(labels);
      metrics.requests.inc(labels);
    }
  };
}
