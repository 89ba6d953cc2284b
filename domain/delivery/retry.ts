/**
 * One way to decide, from an error's type alone, whether work that failed is retried (and after how long) or
 * given up: used by every consumer that calls a provider (the senders, the media copiers) and by the webhook
 * dispatcher. Exponential backoff with full jitter, honouring a provider's `Retry-After`.
 */
import type { Failure } from '../model.ts';
import { ProviderError, RateLimitedError } from '../provider-errors.ts';

/** Longest delay SQS can give a message is 12 h; a shorter cap keeps replies timely. */
export const MAX_DELAY_SECONDS = 900;

/** Which attempt this is, as the queue counts them. */
export interface AttemptCount {
  readonly receiveCount: number;
  readonly maxReceiveCount: number;
}

export type RetryDecision =
  /** Try again after `delaySeconds`. */
  | { readonly kind: 'retry'; readonly delaySeconds: number; readonly failure: Failure }
  /** Will never succeed (refused, gone, blocked): record it, do not retry. */
  | { readonly kind: 'failed'; readonly failure: Failure }
  /** Retries used up: record it, and let the queue move the job to its dead-letter queue. */
  | { readonly kind: 'exhausted'; readonly failure: Failure };

/** Exponential backoff with full jitter: about 2, 4, 8 … seconds, capped. */
export const backoffSeconds = (receiveCount: number, random: () => number = Math.random, capSeconds = MAX_DELAY_SECONDS): number => {
  const ceiling = Math.min(capSeconds, 2 ** Math.max(1, receiveCount));
  return Math.max(1, Math.round(ceiling * (0.5 + random() / 2)));
};

/** What an error says about the attempt: a provider's own classification, or (anything else) retryable. */
export const failureOf = (error: unknown, attempts: number): Failure =>
  error instanceof ProviderError
    ? error.toFailure(attempts)
    : { kind: 'retryable', message: error instanceof Error ? error.message : String(error), attempts };

export const isRetryableFailure = (failure: Failure): boolean => failure.kind === 'retryable' || failure.kind === 'rate_limited';

/**
 * Retry what may succeed later, until the queue's receive count runs out; give up on the rest at once. A
 * provider's requested wait (`RateLimitedError.retryAfterSeconds`) replaces the backoff.
 */
export const decideRetry = (error: unknown, attempt: AttemptCount, random: () => number = Math.random): RetryDecision => {
  const failure = failureOf(error, attempt.receiveCount);
  return decide(failure, attempt, error instanceof RateLimitedError ? error.retryAfterSeconds : undefined, random);
};

/** {@link decideRetry} for a failure already classified. */
export const decide = (
  failure: Failure,
  attempt: AttemptCount,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): RetryDecision => {
  if (!isRetryableFailure(failure)) return { kind: 'failed', failure };
  if (attempt.receiveCount >= attempt.maxReceiveCount) return { kind: 'exhausted', failure };
  const delaySeconds =
    retryAfterSeconds !== undefined
      ? Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.ceil(retryAfterSeconds)))
      : backoffSeconds(attempt.receiveCount, random);
  return { kind: 'retry', delaySeconds, failure };
};
