/**
 * What every connector's API client does the same way around `fetch`: turning a failed request into a
 * retryable provider error, and reading a body that may not be JSON.
 */
import { RetryableProviderError } from '../domain/provider-errors.ts';

/**
 * A request that got no answer (timeout, refused connection, DNS): always retryable, since the provider may
 * never have seen it. `what` names the call in the message ("Telegram sendMessage").
 */
export const networkFailure = (what: string, error: unknown, timeoutMs: number): RetryableProviderError => {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new RetryableProviderError(`${what} timed out after ${timeoutMs / 1000} s`);
  }
  // undici puts the system error (ECONNREFUSED, ENOTFOUND, ...) in `cause`; its messages hold the host,
  // never a path that could carry a token.
  const cause = error instanceof Error ? error.cause : undefined;
  const reason =
    cause instanceof Error && 'code' in cause && typeof cause.code === 'string'
      ? cause.code
      : error instanceof Error
        ? error.name
        : 'unknown error';
  return new RetryableProviderError(`${what} request failed: ${reason}`);
};

/** The JSON a body holds, or undefined when it holds none (a proxy's HTML page, a truncated answer). */
export const tryParseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
