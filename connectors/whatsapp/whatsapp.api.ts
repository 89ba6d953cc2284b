/**
 * One Cloud API call (`POST /{version}/{phone-number-id}/messages`) and the translation of Graph API errors
 * into Parley's provider errors. The access token travels in the Authorization header and never appears
 * in an error message.
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
 */
import * as z from 'zod';
import {
  AuthenticationError,
  InvalidRequestError,
  PermanentProviderError,
  type ProviderError,
  RateLimitedError,
  RetryableProviderError,
} from '../../domain/provider-errors.ts';
import { postJson } from '../http.ts';
import type { SendContext } from '../connector.ts';

import { GRAPH_API_VERSION, GraphErrorBodySchema, type GraphErrorBody } from '../meta/meta.graph-api.ts';

// One Graph API version and error shape for the three Meta channels (the vendored OpenAPI is v23.0).
export { GRAPH_API_VERSION, type GraphErrorBody };
export const WHATSAPP_TIMEOUT_MS = 10_000;

/** `{"messaging_product":"whatsapp","contacts":[{input, wa_id}],"messages":[{"id":"wamid…"}]}` */
const SendResponseSchema = z.looseObject({ messages: z.array(z.looseObject({ id: z.string().min(1) })).min(1) });

/** Codes that mean "too fast": throughput (130429), pair rate (131056), WABA rate (80007), app rate (4). */
const RATE_LIMIT_SECONDS: Readonly<Record<number, number>> = {
  // 80 messages/s per number by default: a short pause is enough.
  130429: 5,
  // About one message every 6 s to the same customer.
  131056: 6,
  80007: 60,
  4: 60,
};

/**
 * The error a failed call means. Keeps the Graph code as `code` and the title (with the details) as the
 * message: the message's failure then says why, in WhatsApp's words.
 */
export const classifyWhatsAppError = (
  httpStatus: number,
  body: GraphErrorBody | undefined,
  retryAfterHeader?: string | null,
): ProviderError => {
  const error = body?.error;
  const code = error?.code;
  const codeText = code === undefined ? String(httpStatus) : String(code);
  const title = error?.error_user_title ?? error?.message ?? `HTTP ${httpStatus}`;
  const details = error?.error_data?.details ?? error?.error_user_msg;
  const message = `(#${codeText}) ${title}${details && details !== title ? `: ${details}` : ''}`;
  if (code !== undefined && code in RATE_LIMIT_SECONDS) {
    const fromHeader = retryAfterHeader ? Number(retryAfterHeader) : Number.NaN;
    return new RateLimitedError(
      message,
      Number.isFinite(fromHeader) && fromHeader >= 0 ? fromHeader : (RATE_LIMIT_SECONDS[code] ?? 60),
      codeText,
    );
  }
  if (httpStatus === 429) return new RateLimitedError(message, 60, codeText);
  // 190: the access token expired or was revoked.
  if (code === 190 || httpStatus === 401) return new AuthenticationError(message, codeText);
  // Outside the 24-hour window: only a template can reach this customer now.
  if (code === 131047) return new PermanentProviderError(message, codeText);
  // Not on WhatsApp, old client, terms not accepted: nothing will reach this number.
  if (code === 131026) return new PermanentProviderError(message, codeText, true);
  // 1 (unknown) and 2 (service temporarily unavailable) are Graph's transient codes.
  if (httpStatus >= 500 || code === 1 || code === 2 || error?.is_transient === true) return new RetryableProviderError(message, codeText);
  return new InvalidRequestError(message, codeText);
};

/** The messages endpoint of a business number. */
export const messagesUrl = (apiBaseUrl: string, phoneNumberId: string): string =>
  `${apiBaseUrl.replace(/\/+$/, '')}/${GRAPH_API_VERSION}/${encodeURIComponent(phoneNumberId)}/messages`;

/** Posts one message and returns its wamid. Throws a {@link ProviderError}. */
export const postWhatsAppMessage = async (
  body: Readonly<Record<string, unknown>>,
  phoneNumberId: string,
  context: Pick<SendContext, 'apiBaseUrl' | 'credentials' | 'fetch'>,
  timeoutMs: number = WHATSAPP_TIMEOUT_MS,
): Promise<string> => {
  const token = context.credentials['accessToken'];
  if (!token) throw new AuthenticationError('WhatsApp access token is not configured');
  const { response, json } = await postJson({
    what: 'WhatsApp send',
    url: messagesUrl(context.apiBaseUrl, phoneNumberId),
    body,
    headers: { authorization: `Bearer ${token}` },
    timeoutMs,
    fetch: context.fetch,
  });
  if (response.ok) {
    const sent = SendResponseSchema.safeParse(json);
    if (sent.success && sent.data.messages[0]) return sent.data.messages[0].id;
    // Accepted (2xx) but no wamid: retrying could send it twice, so this is not retried.
    throw new PermanentProviderError(`WhatsApp answered HTTP ${response.status} without a message id`);
  }
  const error = GraphErrorBodySchema.safeParse(json);
  throw classifyWhatsAppError(response.status, error.success ? error.data : undefined, response.headers.get('retry-after'));
};
