import { randomBytes, randomUUID } from 'node:crypto';

/** Time source, injected so tests can pin it. */
export interface Clock {
  now(): Date;
}

/** Id source, injected so tests can make ids predictable. */
export interface Ids {
  uuid(): string;
  /** `bytes` random bytes as lower-case hex. */
  hex(bytes: number): string;
}

export const systemClock: Clock = { now: () => new Date() };
export const randomIds: Ids = { uuid: () => randomUUID(), hex: (n) => randomBytes(n).toString('hex') };

/** A new W3C traceparent: a fresh trace, sampled. */
export function newTraceparent(ids: Ids): string {
  return `00-${ids.hex(16)}-${ids.hex(8)}-01`;
}

/** A traceparent in the same trace as `parent`, with a new span id. */
export function childTraceparent(parent: string, ids: Ids): string {
  const traceId = parent.split('-')[1];
  return traceId && /^[0-9a-f]{32}$/.test(traceId) ? `00-${traceId}-${ids.hex(8)}-01` : newTraceparent(ids);
}
