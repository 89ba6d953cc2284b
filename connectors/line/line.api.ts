/**
 * One Messaging API call, and the translation of its failures into Parley's provider errors. The channel
 * access token travels only in the `Authorization` header and never appears in an error message.
 * @see https://developers.line.biz/en/reference/messaging-api/#send-push-message
 * @see https://developers.line.biz/en/reference/messaging-api/#error-responses
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import {
  AuthenticationError,
  InvalidRequestError,
  PermanentProviderError,
  type ProviderError,
  RateLimitedError,
  RetryableProviderError,
} from '../../domain/provider-errors.ts';
import { postJson, tryParseJson } from '../http.ts';
import { getMedia } from '../media.ts';
import type { DownloadContext, SendContext } from '../connector.ts';

/** How long one call may take before it is abandoned and retried later. */
export const LINE_TIMEOUT_MS = 10_000;

/**
 * The wait after a 429 that is a rate limit (not the monthly quota). LINE sends no `Retry-After` and limits
 * per second (2,000 requests/s for push and reply), so a few seconds clear it; the outbound worker's backoff
 * grows from there. A `Retry-After` header, should a proxy add one, wins.
 * @see https://developers.line.biz/en/reference/messaging-api/#rate-limits
 */
export const LINE_RATE_LIMIT_WAIT_SECONDS = 5;

export const LINE_PUSH_PATH = '/v2/bot/message/push';
export const LINE_REPLY_PATH = '/v2/bot/message/reply';

/** @see https://developers.line.biz/en/reference/messaging-api/#send-push-message-response */
const SentMessagesSchema = z.array(z.looseObject({ id: z.string().min(1), quoteToken: z.string().optional() }));

/**
 * Success is `{sentMessages: [{id, quoteToken?}]}`; an error is `{message, details?: [{message, property}]}`,
 * and a 409 for a retry key already accepted also carries the `sentMessages` of the accepted request.
 * @see https://developers.line.biz/en/docs/messaging-api/retrying-api-request/
 */
const LineResponseSchema = z.looseObject({
  message: z.string().optional(),
  details: z.array(z.looseObject({ message: z.string().optional(), property: z.string().optional() })).optional(),
  sentMessages: SentMessagesSchema.optional(),
});
export type LineResponse = z.infer<typeof LineResponseSchema>;
export type LineSentMessage = z.infer<typeof SentMessagesSchema>[number];

/** The namespace of Parley's retry keys (a fixed random UUID). */
const RETRY_KEY_NAMESPACE = Buffer.from('3f6c1e0a9b2d4c7e8a5f0d1b2c3e4f5a', 'hex');

/**
 * A name-based UUID (RFC 9562 version 5) for `X-Line-Retry-Key`: the same message and part always give the
 * same key, so a push retried after a lost answer is answered 409 instead of being delivered twice. Keys
 * are honoured for 24 hours.
 * @see https://developers.line.biz/en/docs/messaging-api/retrying-api-request/
 */
export const lineRetryKey = (messageId: string, firstPart: number): string => {
  const bytes = createHash('sha1').update(RETRY_KEY_NAMESPACE).update(`${messageId}\u001f${firstPart}`, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes.readUInt8(6) & 0x0f) | 0x50;
  bytes[8] = (bytes.readUInt8(8) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

const describe = (httpStatus: number, body: LineResponse | undefined): string => {
  const base = body?.message ?? `HTTP ${httpStatus}`;
  const details = (body?.details ?? []).map((d) => [d.property, d.message].filter(Boolean).join(': ')).filter((d) => d !== '');
  return details.length > 0 ? `${base} (${details.join('; ')})` : base;
};

/** True for the 400 a reply token that is used, expired or wrong gets; the caller may push instead. */
export const isInvalidReplyToken = (error: unknown): boolean =>
  error instanceof InvalidRequestError && error.code === '400' && /invalid reply token/i.test(error.message);

/**
 * The error a failed call means. LINE has no error codes beyond the HTTP status, so the status is the
 * `code` and the body's message (with its details) the message.
 * - 429 is a rate limit, except "You have reached your monthly limit.", which no retry within days can fix:
 *   that is permanent, with LINE's words, so the message fails visibly instead of waiting in vain.
 * - 401 (token wrong or expired) and 403 (the token's channel may not use this API, e.g. push on a plan
 *   without it) are authentication failures: nothing works until the configuration is fixed.
 * - 400 naming the `to` property: the recipient id is not one this channel can reach.
 * @see https://developers.line.biz/en/reference/messaging-api/#status-codes
 */
export const classifyLineError = (httpStatus: number, body: LineResponse | undefined, retryAfter?: string | null): ProviderError => {
  const code = String(httpStatus);
  const message = describe(httpStatus, body);
  if (httpStatus === 429) {
    if (/monthly limit/i.test(message)) return new PermanentProviderError(message, code);
    const header = retryAfter != null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : undefined;
    return new RateLimitedError(message, header ?? LINE_RATE_LIMIT_WAIT_SECONDS, code);
  }
  if (httpStatus >= 500) return new RetryableProviderError(message, code);
  if (httpStatus === 401 || httpStatus === 403) return new AuthenticationError(message, code);
  if (httpStatus === 400 && (body?.details ?? []).some((d) => d.property === 'to')) {
    return new PermanentProviderError(message, code, true);
  }
  return new InvalidRequestError(message, code);
};

/**
 * Posts a send request (push or reply) and returns the messages LINE accepted, in order; undefined when
 * LINE accepted without listing them (older API behaviour). A 409 on a request with a retry key means an
 * earlier attempt was accepted: that is success, with the earlier attempt's `sentMessages`.
 * Throws a {@link ProviderError} otherwise.
 */
export const callLineSend = async (
  path: typeof LINE_PUSH_PATH | typeof LINE_REPLY_PATH,
  body: Readonly<Record<string, unknown>>,
  context: Pick<SendContext, 'apiBaseUrl' | 'credentials' | 'fetch'>,
  retryKey?: string,
): Promise<readonly LineSentMessage[] | undefined> => {
  const token = context.credentials['channelAccessToken'];
  if (!token) throw new AuthenticationError('LINE channel access token is not configured');
  const url = `${context.apiBaseUrl.replace(/\/+$/, '')}${path}`;
  const { response, json } = await postJson({
    what: `LINE ${path}`,
    url,
    body,
    headers: { authorization: `Bearer ${token}`, ...(retryKey !== undefined && { 'x-line-retry-key': retryKey }) },
    timeoutMs: LINE_TIMEOUT_MS,
    fetch: context.fetch,
  });
  const parsed = LineResponseSchema.safeParse(json);
  const answer = parsed.success ? parsed.data : undefined;
  if (response.ok || (response.status === 409 && retryKey !== undefined)) return answer?.sentMessages;
  throw classifyLineError(response.status, answer, response.headers.get('retry-after'));
};

/**
 * Where LINE serves the content users send. A configured `LINE_API_BASE_URL` replaces this host too, as it
 * replaces api.line.me: the paths are what tell the two APIs apart.
 * @see https://developers.line.biz/en/reference/messaging-api/#get-content
 */
export const LINE_DATA_API_BASE_URL = 'https://api-data.line.me';

export interface LineContent {
  readonly bytes: Buffer;
  readonly contentType: string | undefined;
}

/**
 * Downloads what a customer sent (image, video, audio, file) by its message id, for the media worker,
 * through the safe fetch (bounded, redirects checked). Content held elsewhere
 * (`contentProvider.type: external`) is fetched from its URL instead. LINE keeps content for a limited time;
 * a 404 means it is gone (permanent). Video and audio may still be in preparation: any 2xx other than 200 is
 * retried later.
 * @see https://developers.line.biz/en/reference/messaging-api/#get-content
 * @see https://developers.line.biz/en/reference/messaging-api/#verify-video-or-audio-preparation-status
 */
export const downloadLineContent = async (
  messageId: string,
  context: Pick<DownloadContext, 'credentials' | 'fetch' | 'network'> & { readonly dataApiBaseUrl: string },
): Promise<LineContent> => {
  const token = context.credentials['channelAccessToken'];
  if (!token) throw new AuthenticationError('LINE channel access token is not configured');
  if (!/^\d+$/.test(messageId)) throw new InvalidRequestError(`not a LINE message id: ${messageId}`);
  const path = `/v2/bot/message/${messageId}/content`;
  const content = await getMedia({
    url: `${context.dataApiBaseUrl.replace(/\/+$/, '')}${path}`,
    fetch: context.fetch,
    network: context.network,
    trustedBase: context.dataApiBaseUrl,
    hosts: [new URL(LINE_DATA_API_BASE_URL).hostname],
    headers: { authorization: `Bearer ${token}` },
    what: `LINE ${path}`,
    classify: (status, body, headers) => {
      if (status >= 200 && status < 300)
        return new RetryableProviderError(`LINE content of ${messageId} is not ready yet (HTTP ${status})`, String(status));
      const parsed = LineResponseSchema.safeParse(tryParseJson(body));
      if (status === 404)
        return new PermanentProviderError(parsed.success && parsed.data.message ? parsed.data.message : 'Not found', '404');
      return classifyLineError(status, parsed.success ? parsed.data : undefined, headers.get('retry-after'));
    },
  });
  return { bytes: content.bytes, contentType: content.contentType };
};
