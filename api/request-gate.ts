import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Env, HonoRequest, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { RouterRoute } from 'hono/types';
import { ProblemError, type FieldError } from './problem';

/**
 * The largest request body the API reads, in bytes. A checkout at its limits (50 items, every
 * text field at its maximum length) is about 6 KiB of ASCII, 14 KiB of 3-byte characters and
 * 26 KiB if every character is JSON-escaped, so 64 KiB refuses no valid request while keeping a
 * client from making the process buffer megabytes. Documented in the OpenAPI description and README.
 */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** Order of methods in an `Allow` header, so the header is stable whatever the registration order. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const byMethodOrder = (a: string, b: string) => {
  const rank = (m: string) => (METHOD_ORDER.includes(m) ? METHOD_ORDER.indexOf(m) : METHOD_ORDER.length);
  return rank(a) - rank(b) || a.localeCompare(b);
};

/**
 * `application/json`, optionally with parameters; a `charset` must be UTF-8 (RFC 8259 §8.1).
 * Parameters follow the grammar @hono/zod-openapi's own media-type check accepts (no space
 * before `;`, `name=value`), so nothing that passes here is refused again later with a
 * different problem type.
 *
 * @example
 * isJsonContentType('application/json; charset=utf-8'); // true
 * isJsonContentType('text/plain'); // false
 */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [essence = '', ...params] = header.split(';');
  if (essence.trim().toLowerCase() !== 'application/json') return false;
  return params.every((param) => {
    const match = /^\s*([A-Za-z0-9-]+)=(.+)$/.exec(param);
    if (!match) return false;
    const [, name = '', value = ''] = match;
    if (name.toLowerCase() !== 'charset') return true;
    return ['utf-8', 'utf8'].includes(
      value
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .toLowerCase(),
    );
  });
}

/**
 * Field errors for every string in validated input that contains U+0000: valid JSON and valid
 * per the schemas, but PostgreSQL `text` and `jsonb` cannot store it, so without this check the
 * query fails and the client sees a 500 instead of a 400.
 *
 * @example
 * nulFieldErrors({ customerId: 'a\u0000b' }, 'json'); // [{ path: 'json.customerId', message: … }]
 */
export function nulFieldErrors(value: unknown, path: string): FieldError[] {
  if (typeof value === 'string')
    return value.includes('\u0000') ? [{ path, message: 'must not contain the NUL character (U+0000)' }] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => nulFieldErrors(v, `${path}.${i}`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [
      ...nulFieldErrors(k, `${path}.${k}`),
      ...nulFieldErrors(v, `${path}.${k}`),
    ]);
  }
  return [];
}

/**
 * `Connection: close` for a refusal sent before the body was read (RFC 9110 §15.5.14 allows it
 * for 413). @hono/node-server drains an unread body for 500 ms and then destroys the socket, so a
 * client that reuses the keep-alive connection for its next request has it cut mid-request:
 * closing it with the answer makes the client open a new one instead.
 */
const closeIfBodyUnread = (req: HonoRequest): Record<string, string> =>
  req.header('Transfer-Encoding') !== undefined || Number(req.header('Content-Length') ?? 0) > 0
    ? { Connection: 'close' }
    : {};

const malformed = (detail: string) =>
  new ProblemError(400, { slug: 'malformed-json', title: 'Malformed JSON', detail });
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Refuses a body that is not UTF-8 or not JSON, with its own problem type. Left to Hono, invalid
 * UTF-8 would be decoded with U+FFFD replacements and accepted as if the client had sent them.
 * The bytes stay in the request's body cache, so the validator decodes the same body again.
 */
async function checkJsonBody(req: HonoRequest): Promise<void> {
  let text: string;
  try {
    text = strictUtf8.decode(await req.arrayBuffer());
  } catch {
    throw malformed('the request body is not valid UTF-8');
  }
  try {
    JSON.parse(text);
  } catch (err) {
    throw malformed(`the request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The request checks that come before the route's own validation, as two middlewares, all
 * answered as problem+json:
 *
 * `shape`, first after metrics and before auth, on what the request line and headers say:
 * - 404 when no route has the path, 405 with `Allow` when routes have it under other methods
 *   (Hono alone answers 404 for both). It asks the app's own router, so it agrees with how the
 *   request is dispatched, and routes registered after it (or by other modules) are included.
 * - 415 unless `Content-Type` is `application/json` on a route whose OpenAPI definition takes a
 *   JSON body (the registry is the single list of those).
 * - 413 when the body is over `maxBodyBytes`: by `Content-Length`, or while reading a chunked
 *   body, which is then cut at the limit instead of buffered whole.
 * These answers are public anyway (`/openapi.json`), so giving them before the 401 leaks
 * nothing, and refusing oversized bodies first bounds what an anonymous client can make us read.
 *
 * `json`, after auth (so an anonymous client gets its 401 before we parse anything): 400
 * `malformed-json` when a JSON route's body is not UTF-8 or not JSON.
 *
 * @example
 * const gate = requestGate(app, { maxBodyBytes: BODY_LIMIT_BYTES });
 * app.use('*', gate.shape);
 * app.use('/checkouts', auth);
 * app.use('*', gate.json);
 */
export function requestGate<E extends Env>(
  app: OpenAPIHono<E>,
  opts: { maxBodyBytes: number },
): { shape: MiddlewareHandler<E>; json: MiddlewareHandler<E> } {
  const limit = bodyLimit({
    maxSize: opts.maxBodyBytes,
    onError: () => {
      throw new ProblemError(413, {
        slug: 'content-too-large',
        detail: `request bodies are limited to ${opts.maxBodyBytes} bytes`,
        headers: { Connection: 'close' },
      });
    },
  });

  // Built on first use, when every route is registered; rebuilt if routes were added since.
  let table: { size: number; methods: string[]; jsonBody: Set<string> } | undefined;
  const routeTable = () => {
    if (table?.size !== app.routes.length) {
      const jsonBody = new Set<string>();
      for (const def of app.openAPIRegistry.definitions) {
        if (def.type !== 'route' || !def.route.request?.body?.content['application/json']) continue;
        // The same {param} -> :param rewrite @hono/zod-openapi applies when it registers the route.
        jsonBody.add(`${def.route.method.toUpperCase()} ${def.route.path.replaceAll(/\/{(.+?)}/g, '/:$1')}`);
      }
      const methods = [...new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => r.method))];
      table = { size: app.routes.length, methods, jsonBody };
    }
    return table;
  };
  /** The routes (not middleware) the app's router would dispatch `method path` to. */
  const handlersFor = (method: string, path: string): RouterRoute[] =>
    app.router
      .match(method, path)[0]
      .map(([[, route]]) => route)
      .filter((route) => route.method !== 'ALL');
  // Hono dispatches HEAD as GET (and drops the body), so a GET route answers HEAD too.
  const routesOf = (req: HonoRequest) => handlersFor(req.method === 'HEAD' ? 'GET' : req.method, req.path);
  const takesJson = (routes: RouterRoute[]) => routes.some((r) => routeTable().jsonBody.has(`${r.method} ${r.path}`));

  const shape: MiddlewareHandler<E> = async (c, next) => {
    const matched = routesOf(c.req);
    if (matched.length === 0) {
      const { path } = c.req;
      const allowed = routeTable().methods.filter((m) => handlersFor(m, path).length > 0);
      if (allowed.length === 0)
        throw new ProblemError(404, {
          slug: 'not-found',
          detail: `no route for ${c.req.method} ${path}`,
          headers: closeIfBodyUnread(c.req),
        });
      if (allowed.includes('GET')) allowed.push('HEAD');
      const allow = allowed.sort(byMethodOrder).join(', ');
      throw new ProblemError(405, {
        slug: 'method-not-allowed',
        detail: `${c.req.method} is not allowed on ${path}; allowed: ${allow}`,
        headers: { Allow: allow, ...closeIfBodyUnread(c.req) },
      });
    }
    if (takesJson(matched) && !isJsonContentType(c.req.header('Content-Type'))) {
      throw new ProblemError(415, {
        slug: 'unsupported-media-type',
        detail: 'this route takes a JSON body: send Content-Type: application/json (UTF-8)',
        headers: closeIfBodyUnread(c.req),
      });
    }
    return limit(c, next);
  };

  const json: MiddlewareHandler<E> = async (c, next) => {
    if (takesJson(routesOf(c.req))) await checkJsonBody(c.req);
    await next();
  };

  return { shape, json };
}
