import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** Which key signs a token: the provider's published ES256 or RS256 key, or one a forger holds. */
export type SigningKey = 'es256' | 'rs256' | 'unknown' | 'hs256' | 'none';

export interface TokenOptions {
  sub?: string;
  /** The space-separated `scope` claim. */
  scope?: string;
  /** The `scp` array claim (Azure AD, Okta style). */
  scp?: string[];
  /** Seconds from now; negative: already expired. Default 300. */
  expiresIn?: number;
  /** Seconds from now for `nbf`. */
  notBefore?: number;
  issuer?: string;
  audience?: string;
  key?: SigningKey;
  /** Other claims, or `undefined` to drop one (e.g. `{ exp: undefined }`). */
  claims?: JWTPayload;
}

export interface TestIdentityProvider {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** A signed access token for `sub` (default `cust-a`). */
  token(options?: TokenOptions): Promise<string>;
  /** Requests the JWKS endpoint has answered. */
  readonly jwksRequests: number;
  close(): Promise<void>;
}

/**
 * A real, tiny OpenID Connect identity provider for tests: an HTTP server on 127.0.0.1 serving a
 * JWKS of keys generated with jose (ES256 `k-es`, RS256 `k-rs`), and a signer of access tokens.
 * The API under test verifies against it exactly as against a production provider; nothing of
 * ours is replaced. It can also mint what a forger would: tokens signed by a key the JWKS does
 * not hold, with HS256, or unsigned (`alg: none`).
 *
 * @example
 * const idp = await startIdentityProvider();
 * const config = testConfig({ AUTH_JWKS_URL: idp.jwksUrl, AUTH_ISSUER: idp.issuer, AUTH_AUDIENCE: idp.audience });
 * const token = await idp.token({ sub: 'cust-a', scope: 'checkout:read' });
 */
export async function startIdentityProvider(): Promise<TestIdentityProvider> {
  const es = await generateKeyPair('ES256', { extractable: true });
  const rs = await generateKeyPair('RS256', { extractable: true });
  const rogue = await generateKeyPair('ES256');
  const jwks = {
    keys: [
      { ...(await exportJWK(es.publicKey)), kid: 'k-es', alg: 'ES256', use: 'sig' },
      { ...(await exportJWK(rs.publicKey)), kid: 'k-rs', alg: 'RS256', use: 'sig' },
    ] satisfies JWK[],
  };
  let jwksRequests = 0;
  const server: Server = createServer((req, res) => {
    if (req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    jwksRequests += 1;
    res.writeHead(200, { 'Content-Type': 'application/jwk-set+json' }).end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${base}/`;
  const audience = 'checkout-api';

  const signers: Record<Exclude<SigningKey, 'none' | 'hs256'>, { alg: string; kid: string; key: CryptoKey }> = {
    es256: { alg: 'ES256', kid: 'k-es', key: es.privateKey },
    rs256: { alg: 'RS256', kid: 'k-rs', key: rs.privateKey },
    unknown: { alg: 'ES256', kid: 'k-rogue', key: rogue.privateKey },
  };

  async function token(options: TokenOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const payload: JWTPayload = {
      iss: options.issuer ?? issuer,
      aud: options.audience ?? audience,
      sub: options.sub ?? 'cust-a',
      iat: now,
      exp: now + (options.expiresIn ?? 300),
      ...(options.notBefore === undefined ? {} : { nbf: now + options.notBefore }),
      ...(options.scope === undefined ? {} : { scope: options.scope }),
      ...(options.scp === undefined ? {} : { scp: options.scp }),
      ...options.claims,
    };
    for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
    const key = options.key ?? 'es256';
    if (key === 'none') return new UnsecuredJWT(payload).encode();
    if (key === 'hs256') {
      // What an attacker tries when keys are public: HMAC "signed" with the JWKS itself as the secret.
      const secret = new TextEncoder().encode(JSON.stringify(jwks));
      return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: 'k-es' }).sign(secret);
    }
    const signer = signers[key];
    return new SignJWT(payload)
      .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'at+jwt' })
      .sign(signer.key);
  }

  return {
    jwksUrl: `${base}/jwks.json`,
    issuer,
    audience,
    token,
    get jwksRequests() {
      return jwksRequests;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
