import { z } from 'zod';
import { isScope, SCOPES, type Scope } from '../auth/principal';

/**
 * The value types of the environment (durations, lists, tokens, keys, quotas) and their errors:
 * what `config.ts` builds its schema from, kept apart so that file holds only which variables exist
 * and how they combine.
 */

/** Raised for an invalid environment; the message names every bad variable and why. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration such as 500ms, 30s, 15m, 2h or 1d');

export const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0),
);

export const hostPort = z.string().regex(/^([\w.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/, 'expected host:port');

export const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/**
 * One `API_TOKENS` entry: `<token>` (every scope) or `<token>:<scope>+<scope>…` (only those).
 * Messages name the entry by its position (the issue path), never by its value: it is a secret.
 */
export const serviceTokenEntry = z.string().transform((entry, ctx): { token: string; scopes: Scope[] } => {
  const colon = entry.indexOf(':');
  const token = colon < 0 ? entry : entry.slice(0, colon);
  if (!/^[\x21-\x7E]{16,}$/.test(token)) {
    ctx.addIssue({ code: 'custom', message: 'each API token needs at least 16 printable characters (no spaces)' });
    return z.NEVER;
  }
  if (colon < 0) return { token, scopes: [...SCOPES] };
  const scopes = entry.slice(colon + 1).split('+');
  const unknown = scopes.filter((s) => !isScope(s));
  if (unknown.length > 0 || scopes.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown scope(s) ${unknown.map((s) => JSON.stringify(s)).join(', ')} after the token's ":"; write <token> for every scope or <token>:<scope>+<scope> with scopes from ${SCOPES.join(', ')}`,
    });
    return z.NEVER;
  }
  return { token, scopes: scopes.filter(isScope) };
});

/** One `PAYLOAD_KEYS` entry, `<id>=<base64 of 32 bytes>`; messages name the entry by its id, never its key. */
export const payloadKeyEntry = z.string().transform((entry, ctx): { id: string; key: Buffer } => {
  const eq = entry.indexOf('=');
  const id = eq < 0 ? '' : entry.slice(0, eq);
  // A key pasted without its id splits at its base64 padding: ids are short, so it is never echoed.
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(id) || eq === entry.length - 1) {
    ctx.addIssue({
      code: 'custom',
      message: 'each payload key is <id>=<base64 key>, the id of up to 32 letters, digits, ., _ or -',
    });
    return z.NEVER;
  }
  const text = entry.slice(eq + 1);
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32 || key.toString('base64') !== text) {
    ctx.addIssue({
      code: 'custom',
      message: `key ${id}: expected exactly 32 bytes in base64 (openssl rand -base64 32)`,
    });
    return z.NEVER;
  }
  return { id, key };
});

/** A write quota: `off`, or `<requests>/<window>` with a window of whole seconds (e.g. `60/1m`). */
export const ratePolicy = z
  .string()
  .regex(/^(off|[1-9]\d{0,8}\/[1-9]\d{0,5}(s|m|h))$/, 'expected off or <requests>/<window>, e.g. 60/1m or 20/10s')
  .transform((v) => {
    if (v === 'off') return undefined;
    const [limit = '', window = ''] = v.split('/');
    return { limit: Number(limit), windowSeconds: durationToMs(window) / 1000 };
  });

/** Parses durations like `15m` into milliseconds (the same grammar the config accepts). */
export function durationToMs(value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (!match) throw new ConfigError(`not a duration: ${value}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
