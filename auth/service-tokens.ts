import { createHash, timingSafeEqual } from 'node:crypto';
import type { Principal, Scope } from './principal';

/** A bearer token of `API_TOKENS` and the scopes it holds (every scope unless limited). */
export interface ServiceToken {
  token: string;
  scopes: readonly Scope[];
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Finds the service principal of a presented bearer token. Tokens are compared as SHA-256
 * digests in constant time, against every configured token so the time taken does not reveal
 * which one matched; the principal's id is a digest prefix, so no token reaches a log or a table.
 *
 * @returns the principal, or `undefined` when the token is not a service token.
 * @example
 * const findService = serviceTokens(config.api.tokens);
 * findService('dev-token-change-me-0000'); // { kind: 'service', id: '5c1f…', scopes: Set(5) … }
 */
export function serviceTokens(tokens: readonly ServiceToken[]): (presented: string) => Principal | undefined {
  const known = tokens.map((t) => ({ digest: digest(t.token), scopes: new Set(t.scopes) }));
  return (presented) => {
    const candidate = digest(presented);
    let match: (typeof known)[number] | undefined;
    for (const k of known) if (timingSafeEqual(k.digest, candidate)) match = k;
    if (!match) return undefined;
    return { kind: 'service', id: candidate.subarray(0, 8).toString('hex'), subject: undefined, scopes: match.scopes };
  };
}
