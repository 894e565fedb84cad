import { ErrorCode, NatsError } from 'nats';

/**
 * JetStream API error codes (the `err_code` of an API error, from nats-server's errors.json) that
 * this package tells apart. The HTTP-like `code` alone is not enough: a missing stream and a
 * missing message are both 404, and deleting a missing message answers 500.
 */
export const JsApiErrorCode = {
  /** JSNoMessageFoundErr: no message at that sequence. */
  NoMessageFound: 10037,
  /** JSStreamMsgDeleteFailedF: the message could not be deleted (for example, it is already gone). */
  StreamMsgDeleteFailed: 10057,
  /** JSStreamNotFoundErr: no such stream. */
  StreamNotFound: 10059,
} as const;

/** The HTTP-like `code` of a JetStream API error saying the stream or consumer asked for does not exist. */
export const JS_API_NOT_FOUND = 404;

/**
 * Why a NATS operation failed, as a small fixed set: safe as a metric label or log field, since
 * the error's message (which can name a subject or an id) never becomes one.
 */
export type NatsFailure = 'timeout' | 'no_responders' | 'disconnected' | 'rejected' | 'permission' | 'other';

/** Every {@link NatsFailure}, so a metric can export each series before the first failure. */
export const NATS_FAILURES: readonly NatsFailure[] = [
  'timeout',
  'no_responders',
  'disconnected',
  'rejected',
  'permission',
  'other',
];

const TIMEOUT_CODES: ReadonlySet<string> = new Set([ErrorCode.Timeout, ErrorCode.JetStream408RequestTimeout]);

const DISCONNECTED_CODES: ReadonlySet<string> = new Set([
  ErrorCode.Disconnect,
  ErrorCode.ConnectionClosed,
  ErrorCode.ConnectionDraining,
  ErrorCode.ConnectionRefused,
  ErrorCode.ConnectionTimeout,
]);

// A first connection failing with these means nobody is listening, not that a server said no.
const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.ConnectionRefused,
  ErrorCode.ConnectionTimeout,
  ErrorCode.Timeout,
]);

/**
 * Sorts a NATS failure into a {@link NatsFailure}: the one classifier for metrics and logs.
 *
 * @example
 * classifyNatsError(NatsError.errorForCode('TIMEOUT')); // 'timeout'
 * classifyNatsError(new Error('boom'));                // 'other'
 */
export function classifyNatsError(err: unknown): NatsFailure {
  if (!(err instanceof NatsError)) return 'other';
  // JetStream answered with an API error (stream limits, wrong expected sequence, ...).
  if (err.api_error) return 'rejected';
  if (TIMEOUT_CODES.has(err.code)) return 'timeout';
  if (isNoResponders(err)) return 'no_responders';
  if (DISCONNECTED_CODES.has(err.code)) return 'disconnected';
  if (err.isPermissionError() || err.isAuthError()) return 'permission';
  return 'other';
}

/**
 * True for "no responders": nobody subscribes to the subject, which for a JetStream publish means
 * no stream stores it. nats.js reports it as a bare code `503`.
 */
export function isNoResponders(err: unknown): boolean {
  return err instanceof NatsError && err.code === ErrorCode.NoResponders;
}

/**
 * True when a first connection failed because no NATS server answered (worth waiting for).
 *
 * @example
 * await connectWhenReachable('NATS', () => connect(options), isNatsUnreachable, { logger, signal });
 */
export function isNatsUnreachable(err: unknown): boolean {
  return err instanceof NatsError && UNREACHABLE_CODES.has(err.code);
}

/** The `err_code` of a JetStream API error (see {@link JsApiErrorCode}); undefined for any other failure. */
export function jsApiErrorCode(err: unknown): number | undefined {
  return err instanceof NatsError ? err.api_error?.err_code : undefined;
}

/** The server's description of a JetStream API error; empty for any other failure. */
export function jsApiErrorDescription(err: unknown): string {
  return err instanceof NatsError ? (err.api_error?.description ?? '') : '';
}

/**
 * Resolves to undefined when JetStream answers 404 (no such stream or consumer); any other
 * failure (timeout, permissions, NATS down) still rejects.
 *
 * @example
 * const info = await missingAsUndefined(jsm.streams.info('PAYMENTS'));
 */
export async function missingAsUndefined<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof NatsError && err.api_error?.code === JS_API_NOT_FOUND) return undefined;
    throw err;
  }
}

/**
 * A NATS failure in words for an operator; "no responders" on a publish to `subject` is spelled
 * out, since nats.js reports it as a bare "503".
 *
 * @example
 * describeNatsError(err, 'payments.payment.charged'); // 'no JetStream stream stores subject payments.payment.charged (503 no responders)'
 */
export function describeNatsError(err: unknown, subject?: string): string {
  if (subject && isNoResponders(err)) return `no JetStream stream stores subject ${subject} (503 no responders)`;
  return err instanceof Error ? err.message : String(err);
}
