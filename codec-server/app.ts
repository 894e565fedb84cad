import type { PayloadCodec } from '@temporalio/common';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type { Authenticator } from '../auth/authenticate';
import type { Scope } from '../auth/principal';
import { authenticate, bearerChallenge, type AuthEnv } from '../api/auth';
import { notFoundResponse, problemResponse, ProblemError, PROBLEM_BASE } from '../api/problem';
import { PayloadDecryptionError } from '../lib/payload-codec';
import type { Logger } from '../lib/logger';
import { payloadsFromJson, payloadsJson, payloadsToJson } from './payloads-json';

/** Reading any customer's saga is what decoding shows, so it takes the API's scope for that. */
export const CODEC_SCOPE: Scope = 'checkout:any';

// A history page sends one request per payload set; Temporal's own limit is 2 MiB a payload.
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface CodecAppDeps {
  codec: PayloadCodec;
  authenticator: Authenticator;
  /** Web UI origins allowed to call from a browser (CORS, with credentials). */
  corsOrigins: readonly string[];
  /**
   * Whether a browser request from one of `corsOrigins` may decode without a token. Only with
   * the public development key (it protects nothing anyway), so the local dev server's UI, which
   * has no login to forward, shows decoded sagas; never with configured keys.
   */
  openToUiOrigins: boolean;
  logger: Logger;
}

function requireScope(c: Context<AuthEnv>): void {
  if (c.get('principal').scopes.has(CODEC_SCOPE)) return;
  throw new ProblemError(403, {
    slug: 'forbidden',
    detail: `decoding payloads needs the ${CODEC_SCOPE} scope`,
    headers: { 'WWW-Authenticate': bearerChallenge({ error: 'insufficient_scope', scope: CODEC_SCOPE }) },
  });
}

async function readPayloads(c: Context) {
  const body: unknown = await c.req.json().catch(() => undefined);
  const parsed = payloadsJson.safeParse(body);
  if (!parsed.success) {
    throw new ProblemError(400, {
      slug: 'validation-error',
      detail: 'expected {"payloads":[{"metadata":{"<key>":"<base64>"},"data":"<base64>"}]}',
      errors: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  return payloadsFromJson(parsed.data);
}

/**
 * The codec server's HTTP app: `POST /codec/encode` and `POST /codec/decode` in the shape the
 * Temporal Web UI and CLI use (`--codec-endpoint`), behind bearer authentication (the API's
 * service tokens or OIDC access tokens, with `checkout:any`) and CORS for the UI's origins.
 * Every decode is logged with the caller's principal id: who read customer data, and when.
 *
 * @example
 * serve({ fetch: createCodecApp(deps).fetch, port: 8089 });
 */
export function createCodecApp(deps: CodecAppDeps) {
  const app = new Hono<AuthEnv>();
  const origins = [...deps.corsOrigins];
  app.use(
    '/codec/*',
    cors({
      origin: (origin) => (origins.includes(origin) ? origin : null),
      allowMethods: ['POST', 'OPTIONS'],
      allowHeaders: ['Content-Type', 'Authorization', 'Authorization-Extras', 'X-Namespace'],
      credentials: true,
      maxAge: 600,
    }),
  );
  const bearer = authenticate(deps.authenticator, deps.logger);
  app.use('/codec/*', async (c, next) => {
    const fromUi = origins.includes(c.req.header('Origin') ?? '');
    if (deps.openToUiOrigins && fromUi && c.req.header('Authorization') === undefined) return next();
    return bearer(c, async () => {
      requireScope(c);
      await next();
    });
  });
  app.use('/codec/*', bodyLimit({ maxSize: MAX_BODY_BYTES }));

  for (const direction of ['encode', 'decode'] as const) {
    app.post(`/codec/${direction}`, async (c) => {
      const payloads = await readPayloads(c);
      const result = await deps.codec[direction](payloads);
      deps.logger.info(
        {
          principal: c.get('principal')?.id ?? 'ui-origin (development key)',
          namespace: c.req.header('X-Namespace'),
          payloads: payloads.length,
        },
        `codec ${direction}`,
      );
      return c.json(payloadsToJson(result));
    });
  }
  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.onError((err, c) => {
    if (err instanceof ProblemError) return problemResponse(c, err.toProblem(), err.headers);
    if (err instanceof PayloadDecryptionError) {
      // Names key ids only: the payload is not echoed back.
      return problemResponse(c, {
        type: `${PROBLEM_BASE}undecryptable-payload`,
        title: 'Payload cannot be decrypted',
        status: 422,
        detail: err.message,
      });
    }
    deps.logger.error({ err, path: c.req.path }, 'codec server error');
    return problemResponse(c, {
      type: `${PROBLEM_BASE}internal`,
      title: 'Internal Server Error',
      status: 500,
      detail: 'the payloads could not be processed',
    });
  });
  app.notFound(notFoundResponse);
  return app;
}
