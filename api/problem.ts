import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export interface FieldError {
  path: string;
  message: string;
}

/** RFC 9457 problem details, the body of every error response. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

export const PROBLEM_BASE = 'https://checkout-saga.dev/problems/';

/** RFC 9110 reason phrases of the statuses this API answers with, the default `title` of a problem. */
const REASON_PHRASES: Partial<Record<ContentfulStatusCode, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export interface ProblemOptions {
  /** The last segment of the problem `type` URI, e.g. `not-found`. */
  slug: string;
  /** Short, human-readable summary of the problem type; the status's reason phrase when omitted. */
  title?: string;
  detail: string;
  /** Field paths and messages, for validation failures. */
  errors?: FieldError[];
  /** Extra response headers, e.g. `Retry-After` on a 503. */
  headers?: Record<string, string>;
}

/**
 * An error that maps to one problem+json response. Thrown by the HTTP edge (middleware, routes,
 * validation); services throw domain errors instead, which `problemOf` turns into one of these.
 * The single `app.onError` turns it into the response.
 *
 * @example
 * throw new ProblemError(404, { slug: 'not-found', title: 'SKU not found', detail: `no catalog row for ${sku}` });
 */
export class ProblemError extends Error {
  readonly slug: string;
  readonly title: string;
  readonly detail: string;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: ContentfulStatusCode,
    options: ProblemOptions,
  ) {
    super(options.detail);
    this.name = 'ProblemError';
    this.slug = options.slug;
    this.title = options.title ?? REASON_PHRASES[status] ?? 'Error';
    this.detail = options.detail;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }

  toProblem(): Problem {
    return {
      type: PROBLEM_BASE + this.slug,
      title: this.title,
      status: this.status,
      detail: this.detail,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

/** A 400 listing each invalid field. */
export function validationProblem(errors: FieldError[]): ProblemError {
  return new ProblemError(400, {
    slug: 'validation-error',
    title: 'Request validation failed',
    detail: `${errors.length} invalid field(s)`,
    errors,
  });
}

export function problemResponse(c: Context, problem: Problem, headers: Record<string, string> = {}): Response {
  return c.body(JSON.stringify(problem), problem.status as ContentfulStatusCode, {
    'Content-Type': 'application/problem+json',
    ...headers,
  });
}

/** The 404 of a path no route serves, shared by every Hono app of the project (`app.notFound(notFoundResponse)`). */
export function notFoundResponse(c: Context): Response {
  return problemResponse(c, {
    type: `${PROBLEM_BASE}not-found`,
    title: 'Not Found',
    status: 404,
    detail: `no route for ${c.req.method} ${c.req.path}`,
  });
}
