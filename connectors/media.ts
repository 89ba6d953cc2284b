/**
 * What every connector's media download does the same way: a GET through the safe fetch (`safe-fetch.ts`:
 * https to the provider's media hosts, public addresses only, every redirect checked), a body read up to
 * the size limit and no further, network failures retryable, and a refusal classified by the caller (each
 * provider words it differently).
 */
import { MAX_MEDIA_BYTES, type DownloadedMedia, type MediaNetwork } from './connector.ts';
import {
  InvalidRequestError,
  PermanentProviderError,
  ProviderError,
  RateLimitedError,
  RetryableProviderError,
} from '../domain/provider-errors.ts';
import { networkFailure } from './http.ts';
import { readAtMost, safeGet, type MediaSource } from './safe-fetch.ts';

/** Media is larger than an API answer: a download may take longer than a send. */
export const MEDIA_TIMEOUT_MS = 30_000;

/** The error code of a download refused for its size. */
export const MEDIA_TOO_LARGE = 'media_too_large';

/** An error answer is read this far, enough for any provider's error JSON. */
const ERROR_BODY_BYTES = 64 * 1024;

export interface MediaGet extends MediaSource {
  readonly url: string;
  readonly fetch: typeof globalThis.fetch;
  readonly network?: MediaNetwork;
  readonly headers?: Readonly<Record<string, string>>;
  /** Names the call in errors ("Telegram file"); never the URL, which may hold a token. */
  readonly what: string;
  /** The error an answer other than 200 means; {@link classifyMediaHttpError} when absent. */
  readonly classify?: (status: number, body: string, headers: Headers) => ProviderError;
  /** {@link MAX_MEDIA_BYTES} unless a test says otherwise. */
  readonly maxBytes?: number;
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

/** The URL a payload gave, when it gave one that parses; whether it may be fetched is the safe fetch's call. */
export const mediaUrl = (url: string | undefined, what: string): string => {
  if (url === undefined || !URL.canParse(url)) throw new InvalidRequestError(`${what}: the media has no URL`);
  return url;
};

const tooLarge = (what: string, detail: string): PermanentProviderError =>
  new PermanentProviderError(`${what} is too large: ${detail}`, MEDIA_TOO_LARGE);

/**
 * GETs `url` and returns its bytes and media type. Throws a {@link ProviderError}: permanent when the URL is
 * refused or the media is over the limit (by its `Content-Length`, or once that many bytes came).
 */
export const getMedia = async (get: MediaGet): Promise<DownloadedMedia> => {
  const maxBytes = get.maxBytes ?? MAX_MEDIA_BYTES;
  // Aborted when done, whatever happened: a body left unread never holds a connection open.
  const done = new AbortController();
  const signal = AbortSignal.any([done.signal, AbortSignal.timeout(MEDIA_TIMEOUT_MS)]);
  try {
    const response = await safeGet({ ...get, url: mediaUrl(get.url, get.what), signal });
    if (response.status !== 200) {
      const { bytes } = await readAtMost(response.body, ERROR_BODY_BYTES);
      throw get.classify
        ? get.classify(response.status, bytes.toString('utf8'), response.headers)
        : classifyMediaHttpError(response.status, get.what, response.headers);
    }
    const length = response.headers.get('content-length');
    const declared = length === null ? undefined : Number(length);
    if (declared !== undefined && declared > maxBytes) throw tooLarge(get.what, `it declares ${declared} bytes, the limit is ${maxBytes}`);
    const body = await readAtMost(response.body, maxBytes, declared);
    if (!body.complete) throw tooLarge(get.what, `more than ${maxBytes} bytes came`);
    const contentType = response.headers.get('content-type') ?? undefined;
    return { bytes: body.bytes, ...(contentType !== undefined && { contentType }) };
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    throw networkFailure(get.what, error, MEDIA_TIMEOUT_MS);
  } finally {
    done.abort();
  }
};
