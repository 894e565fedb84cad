import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { constants } from 'node:os';
import type { Logger } from './logger';
import { sleep } from './wait';

/**
 * A repeat of the signal within this long of the first is the same request, not an escalation:
 * Ctrl-C reaches every process of the terminal's group while `npm start` (and npm, tsx) also
 * forward it, so one keypress often arrives twice.
 */
const SIGNAL_ECHO_MS = 1_000;

/** Time kept back from the grace period for closing clients and pools after the main drain. */
const CLOSE_RESERVE_MS = 5_000;

export interface ShutdownOptions {
  /** From the first signal, how long the drain may take before the process is forced out. */
  gracePeriodMs: number;
}

/**
 * Aborts the returned signal on the first SIGINT or SIGTERM. The process then has
 * `gracePeriodMs` to drain; when it expires, or on a second signal (sent after the first one's
 * echo window), the process exits at once with a log line saying so. Entry points pass the
 * signal to their loops, then close resources in order.
 *
 * @example
 * const signal = onShutdownSignal(logger, { gracePeriodMs: 25_000 });
 * await relay.run(signal);
 */
export function onShutdownSignal(logger: Logger, options: ShutdownOptions): AbortSignal {
  const controller = new AbortController();
  let firstAt = 0;
  const handler = (sig: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      firstAt = Date.now();
      logger.info({ signal: sig, gracePeriodMs: options.gracePeriodMs }, 'shutting down: draining in-flight work');
      // Unref'd: a drain that finishes early must not be held open by its own deadline.
      setTimeout(() => {
        logger.error(
          { gracePeriodMs: options.gracePeriodMs },
          'shutdown grace period expired before the drain finished: forcing exit',
        );
        process.exit(1);
      }, options.gracePeriodMs).unref();
      controller.abort();
      return;
    }
    if (Date.now() - firstAt < SIGNAL_ECHO_MS) {
      logger.debug({ signal: sig }, 'repeated shutdown signal within the echo window; still draining');
      return;
    }
    logger.warn({ signal: sig }, `second ${sig} while draining: forcing exit without finishing in-flight work`);
    process.exit(128 + (constants.signals[sig] ?? 0));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return controller.signal;
}

/**
 * Resolves once `signal` aborts, at once if it already has: a signal received while a process was
 * still starting must still stop it.
 *
 * @example
 * await worker.runUntil(untilAborted(signal));
 */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/**
 * The share of the grace period a process gives its main drain (HTTP requests, activities),
 * keeping time back to close its clients and pools before the forced exit.
 *
 * @example
 * drainBudgetMs(25_000); // 20_000
 */
export function drainBudgetMs(gracePeriodMs: number): number {
  return Math.max(gracePeriodMs - CLOSE_RESERVE_MS, Math.round(gracePeriodMs / 2));
}

/** Outcome of {@link HttpConnections.drain}. */
export interface HttpDrainResult {
  /** Requests still running when the timeout cut their connections (0 on a clean drain). */
  cutRequests: number;
}

/** Connection bookkeeping of one HTTP server, for a drain that cuts no accepted request unless it times out. */
export interface HttpConnections {
  /**
   * Stops accepting connections and waits, up to `timeoutMs`, for the open ones to finish:
   * requests on them are still served (answered with `Connection: close`), connections idle for
   * a moment are closed; at the timeout whatever is left is closed. Resolves once the server is
   * closed.
   */
  drain(timeoutMs: number): Promise<HttpDrainResult>;
}

/**
 * Tracks the connections of `server` (call it right after the server starts listening) so
 * `drain` can close keep-alive connections without racing their clients.
 *
 * Why not just `server.close()`: since Node 19 it destroys idle keep-alive connections at once,
 * and a client that is writing its next request on one at that moment sees ECONNRESET for a
 * request it already sent; connections busy at that moment then stay open, idle, until
 * `keepAliveTimeout`. Here, after the listening socket closes, every response says
 * `Connection: close` (the client will not reuse it), and a connection is only closed while idle
 * once it has been idle for `idleLingerMs`: a busy client has reused it by then and gets its
 * answer, a quiet one is not writing.
 *
 * @example
 * const connections = trackHttpConnections(server, logger);
 * await untilAborted(signal);
 * await connections.drain(20_000);
 */
export function trackHttpConnections(
  server: Server,
  logger: Logger,
  options: { idleLingerMs?: number } = {},
): HttpConnections {
  const idleLingerMs = options.idleLingerMs ?? 1_000;
  const sockets = new Map<Socket, { active: number; idleSince: number }>();
  let draining = false;
  server.on('connection', (socket: Socket) => {
    sockets.set(socket, { active: 0, idleSince: Date.now() });
    socket.once('close', () => sockets.delete(socket));
  });
  // Prepended, so the header is set before the app's listener can have written the response head.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    if (draining) res.setHeader('Connection', 'close');
    const state = sockets.get(req.socket);
    if (!state) return;
    state.active += 1;
    res.once('close', () => {
      state.active -= 1;
      state.idleSince = Date.now();
    });
  });
  const activeRequests = () => [...sockets.values()].reduce((n, s) => n + s.active, 0);

  return {
    async drain(timeoutMs: number): Promise<HttpDrainResult> {
      draining = true;
      // net.Server's close stops listening and calls back once every connection has ended,
      // without http.Server's immediate destruction of idle keep-alive connections (see above).
      const closed = new Promise<void>((resolve) => {
        NetServer.prototype.close.call(server, () => resolve());
      });
      logger.info(
        { openConnections: sockets.size, activeRequests: activeRequests(), timeoutMs },
        'HTTP server stopped accepting connections; draining',
      );
      const reaper = setInterval(
        () => {
          const now = Date.now();
          for (const [socket, state] of sockets) {
            if (state.active === 0 && now - state.idleSince >= idleLingerMs) socket.destroy();
          }
        },
        Math.min(100, idleLingerMs),
      );
      const timeout = new AbortController();
      try {
        const drained = await Promise.race([
          closed.then(() => true),
          sleep(timeoutMs, timeout.signal).then(() => false),
        ]);
        if (drained) return { cutRequests: 0 };
        const cutRequests = activeRequests();
        logger.warn(
          { timeoutMs, cutRequests, openConnections: sockets.size },
          'HTTP drain timed out: closing the remaining connections, cutting the requests still running',
        );
        server.closeAllConnections();
        await closed;
        return { cutRequests };
      } finally {
        clearInterval(reaper);
        timeout.abort();
      }
    },
  };
}
