import { createHash, timingSafeEqual } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import { ProblemError } from './problem';

export type AuthEnv = { Variables: { principal: string } };

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer-token authentication. Tokens are compared as SHA-256 digests in constant time; the
 * principal kept for the request is a digest prefix, so no token ever reaches a log or a table.
 *
 * @example
 * app.use('/checkouts/*', bearerAuth(config.api.tokens));
 */
export function bearerAuth(tokens: readonly string[]) {
  const known = tokens.map(digest);
  return createMiddleware<AuthEnv>(async (c, next) => {
    const header = c.req.header('Authorization') ?? '';
    const match = /^Bearer ([\x21-\x7E]+)$/.exec(header);
    const presented = match?.[1] ? digest(match[1]) : undefined;
    // Compare against every token so the time taken does not reveal which one matched.
    let ok = false;
    for (const k of known) if (presented && timingSafeEqual(k, presented)) ok = true;
    if (!ok || !presented) {
      throw new ProblemError(401, { slug: 'unauthorized', detail: 'a valid bearer token is required' });
    }
    c.set('principal', presented.subarray(0, 8).toString('hex'));
    await next();
  });
}
