import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWSAlgorithm, type JWTPayload } from 'jose';
import { IdentityProviderUnavailable, InvalidCredential } from './errors';
import { grantedScopes } from './policy';
import type { Principal } from './principal';

/**
 * Asymmetric signature algorithms only: with a symmetric one (HS256) anyone holding the key,
 * which a JWKS would publish, could mint tokens. `none` is never accepted by jose anyway.
 */
export const ACCEPTED_ALGORITHMS: JWSAlgorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** Leeway on `exp` and `nbf` for clocks that disagree a little. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** Longest `sub` accepted: it becomes the principal's id and a customer id. */
const MAX_SUBJECT_LENGTH = 255;

export interface JwtSettings {
  jwksUrl: string;
  issuer: string;
  audience: string;
}

/** A compact JWS: three base64url segments (an unsigned `alg: none` token has an empty third). */
export const looksLikeJwt = (token: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);

/**
 * Fetches the JWKS with the platform's fetch, turning "could not get the keys" into
 * IdentityProviderUnavailable. A timeout is left as it is: jose turns it into JWKSTimeout.
 */
const fetchKeys: typeof fetch = async (url, init) => {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    if (err instanceof TypeError)
      throw new IdentityProviderUnavailable('the JWKS could not be fetched', { cause: err });
    throw err;
  }
  if (!res.ok) throw new IdentityProviderUnavailable(`the JWKS answered HTTP ${res.status}`);
  return res;
};

const TOKEN_FAULTS: Record<string, string> = {
  [errors.JWTExpired.code]: 'the token has expired',
  [errors.JOSEAlgNotAllowed.code]: 'the token is signed with an algorithm that is not accepted',
  [errors.JWKSNoMatchingKey.code]: 'the token is signed with an unknown key',
  [errors.JWKSMultipleMatchingKeys.code]: 'the token does not say which key signed it',
  [errors.JWSSignatureVerificationFailed.code]: 'the token signature is invalid',
  [errors.JWSInvalid.code]: 'the token is malformed or unsigned',
  [errors.JWTInvalid.code]: 'the token is malformed',
  [errors.JOSENotSupported.code]: 'the token uses an unsupported algorithm or key',
};

/** The verifier's error in the caller's terms: a bad token, or a provider we could not reach. */
function classify(err: unknown): Error {
  if (err instanceof IdentityProviderUnavailable) return err;
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid)
    return new IdentityProviderUnavailable('the JWKS could not be fetched in time or is not a key set', { cause: err });
  if (err instanceof errors.JWTClaimValidationFailed)
    return new InvalidCredential(
      err.reason === 'missing'
        ? `the token has no '${err.claim}' claim`
        : `the token's '${err.claim}' claim is not accepted`,
    );
  if (err instanceof errors.JOSEError) {
    const fault = TOKEN_FAULTS[err.code];
    // jose's generic error is what a JWKS response that is not JSON raises.
    return fault ? new InvalidCredential(fault) : new IdentityProviderUnavailable(err.message, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Scopes claimed as OAuth's space-separated `scope`, or as an `scp` array (Azure AD, Okta). */
function claimedScopes(payload: JWTPayload): string[] {
  const scope = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
  const scp = Array.isArray(payload.scp) ? payload.scp.filter((s): s is string => typeof s === 'string') : [];
  return [...scope, ...scp];
}

/**
 * Verifies OpenID Connect access tokens (JWTs) against the provider's JWKS, issuer and audience:
 * signature by a key of the JWKS with an asymmetric algorithm, `exp` (required) and `nbf` with
 * {@link CLOCK_TOLERANCE_SECONDS} of leeway, and a `sub`. Keys are cached by jose and fetched
 * again for an unknown `kid` (at most every 30 s) or after 10 minutes.
 *
 * @throws InvalidCredential for a token that is not acceptable (expired, wrong issuer or
 *   audience, unknown key, bad signature, symmetric or no algorithm, malformed);
 *   IdentityProviderUnavailable when the keys could not be fetched.
 * @example
 * const verify = jwtVerifier({ jwksUrl, issuer, audience });
 * const principal = await verify(token); // { kind: 'oidc', id: 'oidc:cust-42', subject: 'cust-42', … }
 */
export function jwtVerifier(settings: JwtSettings): (token: string) => Promise<Principal> {
  const keys = createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: 3_000, [customFetch]: fetchKeys });
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: ACCEPTED_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (err) {
      throw classify(err);
    }
    const sub = payload.sub ?? '';
    if (sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH || !/^[\x21-\x7E]+$/.test(sub))
      throw new InvalidCredential(`the token's 'sub' claim must be 1 to ${MAX_SUBJECT_LENGTH} printable characters`);
    return { kind: 'oidc', id: `oidc:${sub}`, subject: sub, scopes: grantedScopes(claimedScopes(payload)) };
  };
}
