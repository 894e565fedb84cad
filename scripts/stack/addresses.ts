import { createConnection } from 'node:net';
import { StackError } from './errors';

/** A host and port taken from a configured URL or address. */
export interface HostPort {
  host: string;
  port: number;
}

/** True for addresses on this machine, the only ones `stack:up` may start a server for. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

/** `host:port`, bracketing IPv6 literals. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Host and port of a URL (`postgres://`, `nats://`, `http://`), using `defaultPort` when it has none.
 *
 * @throws StackError naming `setting` when the URL does not parse.
 */
export function urlHostPort(url: string, defaultPort: number, setting: string): HostPort {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new StackError(
      `${setting} is not a valid URL`,
      `set ${setting} to something like scheme://127.0.0.1:${defaultPort}`,
      { cause: err },
    );
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return { host, port: parsed.port === '' ? defaultPort : Number(parsed.port) };
}

/** Host and port of a gRPC-style `host:port` address such as TEMPORAL_ADDRESS. */
export function addressHostPort(address: string, defaultPort: number, setting: string): HostPort {
  // Reuse the URL parser so IPv6 brackets and port validation behave the same everywhere.
  return urlHostPort(`grpc://${address}`, defaultPort, setting);
}

/**
 * Throws a StackError when something already listens on one of `ports`, so a server we are about
 * to start fails up front with the setting to change rather than with a bind error in its log.
 */
export async function assertPortsFree(ports: readonly { target: HostPort; setting: string }[]): Promise<void> {
  for (const { target, setting } of ports) {
    if (await canConnect(target, 1000)) {
      throw new StackError(
        `${formatHostPort(target)} (from ${setting}) is already in use by another process`,
        `stop that process (ss -ltnp | grep :${target.port}) or change ${setting}`,
      );
    }
  }
}

/**
 * True when a TCP connection to `target` succeeds within `timeoutMs`. Used before gRPC probes,
 * which would otherwise wait out their whole connect timeout against a closed port.
 */
export function canConnect(target: HostPort, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: target.host, port: target.port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    // Refused/unreachable is the answer we are asking for, not a failure to report.
    socket.once('error', () => done(false));
  });
}
