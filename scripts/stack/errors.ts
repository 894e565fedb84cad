/**
 * A stack failure a human can act on: `message` says what failed, `fix` says what to do.
 * The CLI prints both; in-process callers get the same text from `describeError`.
 */
export class StackError extends Error {
  override name = 'StackError';

  constructor(
    message: string,
    readonly fix?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Message of any thrown value, without the stack trace (these are operator-facing). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Full operator-facing text for an error: message, the fix when known, and the underlying cause. */
export function describeError(err: unknown): string {
  const lines = [errorMessage(err)];
  if (err instanceof StackError && err.fix) lines.push(`  fix: ${err.fix}`);
  if (err instanceof Error && err.cause !== undefined) {
    const cause = errorMessage(err.cause);
    // Callers often fold the cause into the message already; don't print it twice.
    if (!lines[0]?.includes(cause)) lines.push(`  cause: ${cause}`);
  }
  return lines.join('\n');
}
