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
