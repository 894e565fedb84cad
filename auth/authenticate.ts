import { InvalidCredential } from './errors';
import { jwtVerifier, looksLikeJwt, type JwtSettings } from './jwt';
import type { Principal } from './principal';
import { serviceTokens, type ServiceToken } from './service-tokens';

export interface AuthenticationSettings {
  /** `API_TOKENS`: service principals. */
  serviceTokens: readonly ServiceToken[];
  /** `AUTH_JWKS_URL`, `AUTH_ISSUER`, `AUTH_AUDIENCE`; `undefined`: JWTs are not accepted. */
  jwt: JwtSettings | undefined;
}

/** Resolves a bearer token to its principal. */
export type Authenticator = (bearerToken: string) => Promise<Principal>;

/**
 * The principal behind a bearer token: a service token of `API_TOKENS` first (no I/O), else an
 * OpenID Connect access token when a provider is configured.
 *
 * @throws InvalidCredential when the token is neither; IdentityProviderUnavailable (from the JWT
 *   verifier) when the provider's keys cannot be fetched.
 * @example
 * const authenticate = createAuthenticator({ serviceTokens: config.api.tokens, jwt: config.auth.jwt });
 * const principal = await authenticate(token);
 */
export function createAuthenticator(settings: AuthenticationSettings): Authenticator {
  const findService = serviceTokens(settings.serviceTokens);
  const verifyJwt = settings.jwt ? jwtVerifier(settings.jwt) : undefined;
  return async (token) => {
    const service = findService(token);
    if (service) return service;
    if (verifyJwt && looksLikeJwt(token)) return verifyJwt(token);
    throw new InvalidCredential('the token is not valid');
  };
}
