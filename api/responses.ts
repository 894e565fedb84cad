import { problemContent } from './schemas';

/**
 * The error answers of the API as OpenAPI responses, one definition each, so every route declares
 * exactly the statuses it can return with the same problem+json schema and headers: a client (or a
 * fuzzer driven by the document) finds no undocumented status.
 */

const integerHeader = (description: string) => ({ description, required: true, schema: { type: 'integer' as const } });
const textHeader = (description: string, required = true) => ({
  description,
  required,
  schema: { type: 'string' as const },
});

/** The IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers) every write route answers with. */
export const rateLimitHeaders = (required: boolean) => ({
  'RateLimit-Policy': textHeader(
    'The principal’s write quota, e.g. `"customer-writes";q=60;w=60` (60 writes per 60 s); absent when unlimited',
    required,
  ),
  RateLimit: textHeader(
    'What is left of it, e.g. `"customer-writes";r=59;t=1` (59 more now; whole again in 1 s); absent when unlimited',
    required,
  ),
});

const PROBLEMS = {
  400: { description: 'Invalid request: malformed JSON, or fields that fail the schema (listed in `errors`)' },
  401: {
    description:
      'Missing, malformed, expired or wrongly signed token (a service token of API_TOKENS, or an OpenID Connect access token)',
    headers: {
      'WWW-Authenticate': textHeader('RFC 6750 challenge, with `error="invalid_token"` when a token was presented'),
    },
  },
  403: {
    description: 'The principal lacks the scope this operation needs, or acts for another customer',
  },
  404: { description: 'Not found (another customer’s order is not found either)' },
  405: {
    description: 'The path exists, but not with this method (`Allow` lists the methods it has)',
    headers: { Allow: textHeader('The methods this path answers, e.g. `GET, HEAD`') },
  },
  409: { description: 'Not possible in the order’s current state' },
  413: { description: 'Request body over the size limit' },
  415: { description: 'Content-Type is not application/json' },
  422: {
    description:
      'Valid per the schema but refused: an unknown SKU or payment method (listed in `errors`), or an Idempotency-Key reused with another body',
  },
  429: {
    description: 'The principal’s write quota is spent; retry after Retry-After seconds',
    headers: { 'Retry-After': integerHeader('Seconds to wait'), ...rateLimitHeaders(true) },
  },
  503: {
    description:
      'A dependency could not answer in time (the database, the saga, or the identity provider’s keys); retry after Retry-After seconds',
    headers: { 'Retry-After': integerHeader('Seconds to wait') },
  },
} as const;

export type ProblemStatus = keyof typeof PROBLEMS;

interface ProblemResponse {
  description: string;
  headers?: Record<string, { description: string; required: boolean; schema: { type: 'integer' | 'string' } }>;
  content: typeof problemContent;
}

/**
 * The problem responses for `statuses`, each with its description (or the route's own) and
 * headers.
 *
 * @example
 * responses: { 200: { … }, ...problems([401, 403, 404], { 404: 'Unknown order' }) }
 */
export function problems<S extends ProblemStatus>(
  statuses: readonly S[],
  descriptions: Partial<Record<S, string>> = {},
) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        ...PROBLEMS[status],
        description: descriptions[status] ?? PROBLEMS[status].description,
        content: problemContent,
      },
    ]),
  ) as unknown as Record<S, ProblemResponse>;
}

/**
 * What every path answers to a method it does not have (the request gate's 405, with `Allow`),
 * declared on each of its operations since OpenAPI has no per-path responses.
 */
export const ANY_PATH = [405] as const;
/** The statuses every authenticated operation can answer, whatever it does. */
export const AUTHENTICATED = [401, 403, 503] as const;
/** What a write operation adds: its quota, and a JSON body's size and media type. */
export const WRITE = [429] as const;
export const JSON_BODY = [400, 413, 415] as const;
/**
 * What an operation without a body adds when its method can carry one (POST, PUT): the body limit
 * applies to every request that sends a body, read or not, so an oversized one is a 413 there too.
 */
export const BODY_LIMIT = [413] as const;
