import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { Logger } from './logger';
import { sleep } from './wait';

/** Event-loop turns a drain waits at most for connections already queued in the kernel to be accepted. */
const MAX_SETTLE_TURNS = 50;

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
  let accepted = 0;
  server.on('connection', (socket: Socket) => {
    accepted += 1;
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
      // Connections the kernel completed but Node has not accepted yet are reset when the
      // listening socket closes, cutting a request their client already sent. Let the event loop
      // accept what is queued first: turn it (each turn has a poll phase, which accepts) until a
      // turn accepts nothing, so only a connection arriving in the same instant as the close can
      // still be refused. A busy, descheduled process finds a backlog after two turns (CI saw
      // two requests reset that way); the bound keeps a steady stream of new clients from
      // holding the drain open.
      for (let turn = 0, seen = -1; turn < 2 || (accepted !== seen && turn < MAX_SETTLE_TURNS); turn += 1) {
        seen = accepted;
        await new Promise((resolve) => setImmediate(resolve));
      }
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
