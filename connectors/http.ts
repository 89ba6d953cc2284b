/**
 * What every connector's API client does the same way around `fetch`: turning a failed request into a
 * retryable provider error, and reading a body that may not be JSON.
 */
import { ProviderError, RetryableProviderError } from '../domain/provider-errors.ts';

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

export interface JsonPost {
  /** Names the call in error messages ("Telegram sendMessage"); never holds a token. */
  readonly what: string;
  readonly url: string;
  readonly body: unknown;
  /** Added to `content-type: application/json`. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly fetch: typeof globalThis.fetch;
}

/** The provider's answer: the response (status, headers) and its body as JSON, undefined when it is none. */
export interface JsonAnswer {
  readonly response: Response;
  readonly json: unknown;
}

/**
 * POSTs a JSON body and reads the whole answer within `timeoutMs`. Throws only when no answer came (a
 * retryable {@link networkFailure}); what the answer means is the caller's to say.
 */
export const postJson = async (post: JsonPost): Promise<JsonAnswer> => {
  try {
    const response = await post.fetch(post.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...post.headers },
      body: JSON.stringify(post.body),
      signal: AbortSignal.timeout(post.timeoutMs),
    });
    return { response, json: tryParseJson(await response.text()) };
  } catch (error) {
    // A paced fetch that was told to wait says so itself (domain/delivery/pacing.ts): not a network failure.
    if (error instanceof ProviderError) throw error;
    throw networkFailure(post.what, error, post.timeoutMs);
  }
};
