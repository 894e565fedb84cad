/**
 * Who is calling: the principal a request authenticated as, whatever the credential (a service
 * token or an OpenID Connect access token). No HTTP here, so another edge (a CLI, the codec
 * server) can authenticate its callers the same way.
 */

/** Every scope the API knows, as `docs/CONTRACT.md` lists them. */
export const SCOPES = [
  'checkout:write',
  'checkout:read',
  'checkout:any',
  'payments:confirm',
  'inventory:write',
] as const;
export type Scope = (typeof SCOPES)[number];

export const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value);

/** How a principal proved who it is. */
export type PrincipalKind = 'service' | 'oidc';

export interface Principal {
  kind: PrincipalKind;
  /**
   * Stable and never secret: Idempotency-Keys and rate limits are scoped to it, and it may be
   * logged. A service token's is a prefix of the token's SHA-256; an OIDC principal's is
   * `oidc:<sub>`.
   */
  id: string;
  /** The OIDC `sub`: the customer this principal is (undefined for a service token). */
  subject: string | undefined;
  scopes: ReadonlySet<Scope>;
}
