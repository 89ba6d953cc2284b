/**
 * How a provider refused or failed an outbound call. Senders throw these; the outbound worker decides by
 * type alone whether to retry, wait, or give up, and the message's `failure` records which it was.
 * Keeps "the API said no" apart from "the network failed", as grammY does.
 */
import type { Failure } from './model.ts';

export abstract class ProviderError extends Error {
  abstract readonly kind: Failure['kind'];
  constructor(
    message: string,
    /** The provider's error code, when it gave one. */
    readonly code?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
  toFailure(attempts?: number): Failure {
    return { kind: this.kind, message: this.message, ...(this.code && { code: this.code }), ...(attempts && { attempts }) };
  }
}

/** 5xx, timeouts, connection failures: try again later with backoff. */
export class RetryableProviderError extends ProviderError {
  readonly kind = 'retryable' as const;
}

/** The provider asked us to wait (HTTP 429 with retry_after). The whole account is throttled meanwhile. */
export class RateLimitedError extends ProviderError {
  readonly kind = 'rate_limited' as const;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    code?: string,
  ) {
    super(message, code);
  }
}

/** The recipient cannot receive this, now or ever (blocked the bot, chat gone, outside the window). */
export class PermanentProviderError extends ProviderError {
  readonly kind = 'permanent' as const;
  constructor(
    message: string,
    code?: string,
    /** True when the customer can no longer be reached on this channel at all. */
    readonly recipientUnreachable = false,
  ) {
    super(message, code);
  }
}

/** Our credentials were refused. Retrying will not help until someone fixes the configuration. */
export class AuthenticationError extends ProviderError {
  readonly kind = 'authentication' as const;
}

/** The provider says our request is wrong (a bug or content the provider rejects). */
export class InvalidRequestError extends ProviderError {
  readonly kind = 'invalid_request' as const;
}

export const isRetryable = (error: unknown): boolean =>
  !(error instanceof ProviderError) || error instanceof RetryableProviderError || error instanceof RateLimitedError;
