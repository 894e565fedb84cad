/** Why a presented credential was refused; `description` is safe to send back (it never quotes the credential). */
export class InvalidCredential extends Error {
  constructor(readonly description: string) {
    super(description);
    this.name = 'InvalidCredential';
  }
}

/**
 * The identity provider's keys could not be fetched (unreachable, timed out, not a JWKS), so a
 * token could not be checked at all: not the caller's fault, and worth retrying.
 */
export class IdentityProviderUnavailable extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IdentityProviderUnavailable';
  }
}
