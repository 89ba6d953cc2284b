/**
 * Errors the ports raise for callers to map by type (an API answers 400 for a bad cursor rather than 500).
 */

/** A listing cursor that the store did not issue, or issued for another listing. */
export class InvalidCursorError extends Error {
  constructor(
    /** The cursor as received, for the log; it is the caller's own input, not a secret. */
    readonly cursor: string,
    reason = 'not a cursor issued by this listing',
  ) {
    super(`invalid cursor: ${reason}`);
    this.name = 'InvalidCursorError';
  }
}

/**
 * An account secret this deployment may not replace: one that DevOps created outside Parley, or the
 * default account's. Its owner changes it where it was made.
 */
export class SecretNotWritableError extends Error {
  constructor(readonly secretName: string) {
    super(`the secret ${secretName} is managed outside Parley's integrator API`);
    this.name = 'SecretNotWritableError';
  }
}
