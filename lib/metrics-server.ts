import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from './logger';

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The bound port (useful when the address asked for port 0). */
  port: number;
  /** Stops listening and closes open connections; resolves once closed. */
  close(): Promise<void>;
}

/** Splits `host:port` (as METRICS_ADDRESS is validated); an IPv6 host comes in brackets. */
export function parseHostPort(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address);
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port > 65535) throw new Error(`not a host:port address: ${address}`);
  return { host: match[1], port };
}

/**
 * Serves `registry` at `GET /metrics` (Prometheus text format) on `address` (`host:port`) for a
 * process that has no HTTP server of its own (relay, subscribers), and `GET /healthz` for an
 * orchestrator's liveness probe; anything else gets 404, other methods 405. A failing collector answers 500 and is logged, it never crashes the process. When
 * `signal` aborts the server closes, so a draining process is not kept alive by a scrape.
 *
 * @example
 * const server = await startMetricsServer('127.0.0.1:9465', registry, logger, signal);
 * // ... later, or on abort:
 * await server.close();
 */
export async function startMetricsServer(
  address: string,
  registry: Registry,
  logger: Logger,
  signal?: AbortSignal,
): Promise<MetricsServer> {
  const { host, port } = parseHostPort(address);
  const server = createServer((req, res) => {
    void answer(req, res, registry, logger);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      signal?.removeEventListener('abort', onAbort);
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
  const onAbort = () => {
    void close();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  const bound = (server.address() as AddressInfo).port;
  logger.info({ address: `${host}:${bound}` }, 'serving Prometheus metrics at /metrics');
  return { port: bound, close };
}

async function answer(req: IncomingMessage, res: ServerResponse, registry: Registry, logger: Logger): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
    // Alive: the process answers. Deliberately no dependency check (unlike /metrics, whose
    // collectors read the database and JetStream), so an outage of either never restarts it.
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : 'ok\n');
    return;
  }
  if (path !== '/metrics') {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found; metrics are at /metrics\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  try {
    const body = await registry.metrics();
    res.writeHead(200, { 'Content-Type': registry.contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (err) {
    logger.error({ err }, 'could not collect metrics');
    res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('could not collect metrics\n');
  }
}

/**
 * The process's own Prometheus registry with the default process metrics (CPU, memory, event
 * loop lag, GC, handles). One per process, created by its entry point and injected; never the
 * global registry.
 *
 * @example
 * const registry = createProcessRegistry();
 */
export function createProcessRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
