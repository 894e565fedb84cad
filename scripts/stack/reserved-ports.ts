import { readFileSync, writeFileSync } from 'node:fs';
import type { Config } from '../../lib/config';
import { HA_PORT_SETS, type HaPorts } from './ha/topology';

const RESERVED_FILE = '/proc/sys/net/ipv4/ip_local_reserved_ports';
const RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';

/** Errors that mean the host does not let us reserve ports (not root, read-only /proc/sys, not Linux). */
const NOT_ALLOWED = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOENT']);

/** `55432,55462-55464` (the kernel's format) as a set of ports. */
export function parsePortList(text: string): Set<number> {
  const ports = new Set<number>();
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const [from, to = from] = part.split('-').map(Number);
    if (from === undefined || to === undefined || !Number.isInteger(from) || !Number.isInteger(to)) continue;
    for (let p = from; p <= to; p++) ports.add(p);
  }
  return ports;
}

/** Every port of an HA topology. */
const haPortList = (p: HaPorts): number[] => Object.values(p).flatMap((v: number | readonly number[]) => v);

/**
 * The fixed ports this machine's stacks listen on: the configured stack's own (PostgreSQL, NATS
 * and its monitor, Temporal and its UI), and every copy of the HA topology (`HA_PORT_SETS`).
 */
export function stackPorts(config: Config): number[] {
  const portOf = (url: string) => Number(new URL(url).port);
  const own = [
    portOf(config.database.url),
    ...config.nats.servers.map(portOf),
    portOf(config.nats.monitorUrl),
    portOf(`grpc://${config.temporal.address}`),
    portOf(config.temporal.uiUrl),
  ].filter((p) => Number.isInteger(p) && p > 0);
  return [...own, ...Object.values(HA_PORT_SETS).flatMap(haPortList)];
}

/**
 * Keeps the kernel from handing `ports` out as ephemeral source ports of outgoing connections
 * (`net.ipv4.ip_local_reserved_ports`). The stacks' PostgreSQL ports (55432, 55462…) lie inside
 * Linux's ephemeral range (32768-60999): a client connection that happened to get 55462 as its
 * source port (a standby's replication connection, a test's pool) made HAProxy's bind fail with
 * "Address already in use". Binding to a reserved port explicitly still works. Adds to what is
 * reserved, never removes.
 *
 * @returns the ports it newly reserved, or undefined where the host does not allow it (then the
 *   stack starts as before).
 */
export function reserveLocalPorts(ports: readonly number[]): number[] | undefined {
  try {
    const [low = 0, high = -1] = readFileSync(RANGE_FILE, 'utf8').trim().split(/\s+/).map(Number);
    const reserved = parsePortList(readFileSync(RESERVED_FILE, 'utf8'));
    const added = [...new Set(ports)].filter((p) => p >= low && p <= high && !reserved.has(p)).sort((a, b) => a - b);
    if (added.length === 0) return [];
    writeFileSync(RESERVED_FILE, [...reserved, ...added].sort((a, b) => a - b).join(','));
    return added;
  } catch (err) {
    if (NOT_ALLOWED.has((err as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw err;
  }
}
