import { createMiddleware } from 'hono/factory';
import type { Authenticator } from '../auth/authenticate';
import { IdentityProviderUnavailable, InvalidCredential } from '../auth/errors';
import type { Principal } from '../auth/principal';
import type { Logger } from '../lib/logger';
import { ProblemError } from './problem';

export type AuthEnv = { Variables: { principal: Principal } };

const REALM = 'checkout-saga';

/** What a client should wait before retrying when the identity provider cannot be reached. */
const IDP_RETRY_AFTER_SECONDS = 5;

/** An RFC 6750 §3 challenge; attribute values may not hold `"` or `\`, so those become `'`. */
export function bearerChallenge(attributes: Record<string, string> = {}): string {
  const params = Object.entries({ realm: REALM, ...attributes }).map(
    ([name, value]) => `${name}="${value.replace(/["\\]/g, "'")}"`,
  );
  return `Bearer ${params.join(', ')}`;
}

/**
 * Bearer authentication (RFC 6750) of every request under it: the principal it resolves to is
 * kept as `principal` for the routes and the authorization middleware.
 * - no `Authorization: Bearer <token>`: 401 with a bare challenge (no error code, per §3.1);
 * - a token that is not valid (unknown, expired, wrongly signed, wrong issuer or audience): 401
 *   with `error="invalid_token"` and a description that never quotes the token;
 * - the identity provider's keys cannot be fetched: 503 with Retry-After (the token may be fine).
 *
 * @example
 * app.use('/checkouts/*', authenticate(createAuthenticator(settings), logger));
 */
export function authenticate(authenticator: Authenticator, logger: Logger) {
  return createMiddleware<AuthEnv>(async (c, next) => {
    const match = /^Bearer ([\x21-\x7E]+)$/.exec(c.req.header('Authorization') ?? '');
    const token = match?.[1];
    if (token === undefined) {
      throw new ProblemError(401, {
        slug: 'unauthorized',
        detail: 'a bearer token is required (Authorization: Bearer <token>)',
        headers: { 'WWW-Authenticate': bearerChallenge() },
      });
    }
    let principal: Principal;
    try {
      principal = await authenticator(token);
    } catch (err) {
      if (err instanceof InvalidCredential) {
        throw new ProblemError(401, {
          slug: 'invalid-token',
          title: 'Unauthorized',
          detail: err.description,
          headers: {
            'WWW-Authenticate': bearerChallenge({ error: 'invalid_token', error_description: err.description }),
          },
        });
      }
      if (err instanceof IdentityProviderUnavailable) {
        logger.warn({ err }, 'identity provider unavailable: a token could not be verified');
        throw new ProblemError(503, {
          slug: 'identity-provider-unavailable',
          title: 'Identity provider unavailable',
          detail: 'the token could not be verified right now; retry later',
          headers: { 'Retry-After': String(IDP_RETRY_AFTER_SECONDS) },
        });
      }
      throw err;
    }
    c.set('principal', principal);
    await next();
  });
}
