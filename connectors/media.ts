/**
 * What every connector's media download does the same way: a GET with a timeout that reads the bytes,
 * network failures retryable, and a refusal classified by the caller (each provider words it differently).
 */
import type { DownloadedMedia } from '../domain/connector.ts';
import {
  PermanentProviderError,
  type ProviderError,
  RateLimitedError,
  RetryableProviderError,
  InvalidRequestError,
} from '../domain/provider-errors.ts';
import { networkFailure } from './http.ts';

/** Media is larger than an API answer: a download may take longer than a send. */
export const MEDIA_TIMEOUT_MS = 30_000;

export interface MediaGet {
  readonly url: string;
  readonly fetch: typeof globalThis.fetch;
  readonly headers?: Readonly<Record<string, string>>;
  /** Names the call in errors ("Telegram file"); never the URL, which may hold a token. */
  readonly what: string;
  /** The error a non-2xx answer means; {@link classifyMediaHttpError} when absent. */
  readonly classify?: (status: number, body: string, headers: Headers) => ProviderError;
}

/**
 * A refusal from a server that names no error format (a CDN): gone or forbidden (an expired signed URL)
 * is permanent, 429 waits, 5xx retries.
 */
export const classifyMediaHttpError = (status: number, what: string, headers?: Headers): ProviderError => {
  const message = `${what} answered HTTP ${status}`;
  if (status === 429) {
    const seconds = Number(headers?.get('retry-after'));
    return new RateLimitedError(message, Number.isFinite(seconds) && seconds > 0 ? seconds : 60, '429');
  }
  if (status >= 500) return new RetryableProviderError(message, String(status));
  if (status === 401 || status === 403 || status === 404 || status === 410) return new PermanentProviderError(message, String(status));
  return new InvalidRequestError(message, String(status));
};

/** A URL Parley will fetch: http(s) only, so a payload cannot point the copier at `file:` or `data:`. */
export const fetchableUrl = (url: string | undefined, what: string): string => {
  if (url === undefined || !URL.canParse(url)) throw new InvalidRequestError(`${what}: the media has no URL`);
  const { protocol } = new URL(url);
  if (protocol !== 'https:' && protocol !== 'http:') throw new InvalidRequestError(`${what}: not an http(s) URL`);
  return url;
};

/** GETs `url` and returns its bytes and media type. Throws a {@link ProviderError}. */
export const getMedia = async (get: MediaGet): Promise<DownloadedMedia> => {
  let response: Response;
  let bytes: Buffer;
  try {
    response = await get.fetch(get.url, { headers: { ...get.headers }, signal: AbortSignal.timeout(MEDIA_TIMEOUT_MS) });
    bytes = Buffer.from(await response.arrayBuffer());
  } catch (error) {
    throw networkFailure(get.what, error, MEDIA_TIMEOUT_MS);
  }
  if (!response.ok) {
    throw get.classify
      ? get.classify(response.status, bytes.toString('utf8'), response.headers)
      : classifyMediaHttpError(response.status, get.what, response.headers);
  }
  const contentType = response.headers.get('content-type') ?? undefined;
  return { bytes, ...(contentType !== undefined && { contentType }) };
};
