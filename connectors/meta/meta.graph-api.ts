/**
 * One Graph API call (graph.facebook.com for Messenger, graph.instagram.com for Instagram Login), and the
 * translation of its failures into Parley's provider errors. The access token travels in the
 * `Authorization` header, never in the URL, so no URL or error message ever contains it.
 * @see https://developers.facebook.com/docs/graph-api/guides/error-handling
 * @see https://developers.facebook.com/docs/messenger-platform/reference/send-api#errors
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

/** The Graph API version every path uses. */
export const GRAPH_API_VERSION = 'v23.0';

/** How long one call may take before it is abandoned and retried later. */
export const GRAPH_TIMEOUT_MS = 10_000;

/** Wait used for a throttling error when Meta's usage headers name none. */
export const DEFAULT_RATE_LIMIT_WAIT_SECONDS = 60;

/**
 * `{"error": {message, type, code, error_subcode, error_user_title, error_user_msg, is_transient,
 * error_data: {details}, fbtrace_id}}`: one shape for Messenger, Instagram and WhatsApp.
 * @see https://developers.facebook.com/docs/graph-api/guides/error-handling#receiving-errorcodes
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
 */
export const GraphErrorBodySchema = z.looseObject({
  error: z.looseObject({
    message: z.string().optional(),
    type: z.string().optional(),
    code: z.number().optional(),
    error_subcode: z.number().optional(),
    error_user_title: z.string().optional(),
    error_user_msg: z.string().optional(),
    is_transient: z.boolean().optional(),
    error_data: z.looseObject({ details: z.string().optional() }).optional(),
    fbtrace_id: z.string().optional(),
  }),
});
export type GraphErrorBody = z.infer<typeof GraphErrorBodySchema>;

/** Outside the messaging window: Messenger 10/2018278, Instagram 10/2534022. */
const OUTSIDE_WINDOW_SUBCODES: ReadonlySet<number> = new Set([2018278, 2534022]);
/**
 * The person cannot be reached: 551/1545041 "This person isn't available right now", 100/2018001 "No
 * matching user found" (Messenger), 2534014 "user not found" (Instagram).
 */
const UNREACHABLE_SUBCODES: ReadonlySet<number> = new Set([1545041, 2018001, 2534014]);
/**
 * Throttling: 4 app, 17 user/account, 32 Page, 613 calls within the limit, 80006 Messenger business use
 * case. @see https://developers.facebook.com/docs/graph-api/overview/rate-limiting
 */
const RATE_LIMIT_CODES: ReadonlySet<number> = new Set([4, 17, 32, 613, 80006]);
/** 1 unknown error, 2 service temporarily unavailable: "retry the call". */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([1, 2]);

/**
 * The wait Meta names in `X-Business-Use-Case-Usage` (`estimated_time_to_regain_access`, in minutes), or
 * the default. @see https://developers.facebook.com/docs/graph-api/overview/rate-limiting#headers
 */
export const retryAfterSeconds = (headers: Headers | undefined): number => {
  const raw = headers?.get('x-business-use-case-usage');
  if (!raw) return DEFAULT_RATE_LIMIT_WAIT_SECONDS;
  try {
    const usage: unknown = JSON.parse(raw);
    let minutes = 0;
    if (typeof usage === 'object' && usage !== null) {
      for (const list of Object.values(usage)) {
        if (!Array.isArray(list)) continue;
        for (const entry of list) {
          const value: unknown =
            typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>)['estimated_time_to_regain_access'] : undefined;
          if (typeof value === 'number' && value > minutes) minutes = value;
        }
      }
    }
    return minutes > 0 ? minutes * 60 : DEFAULT_RATE_LIMIT_WAIT_SECONDS;
  } catch {
    return DEFAULT_RATE_LIMIT_WAIT_SECONDS;
  }
};

/**
 * The error a failed call means, from the HTTP status and Graph's error body. The provider's code is kept
 * as `code` (`"<code>"` or `"<code>/<subcode>"`) and its message as the message.
 * - outside the messaging window → permanent (the customer can be reached again once they write);
 * - person unavailable or unknown → permanent, recipient unreachable;
 * - throttling → rate limited; 190 (invalid or expired token) and HTTP 401 → authentication;
 * - codes 1 and 2 and HTTP 5xx → retryable; anything else → invalid request.
 * @see https://developers.facebook.com/docs/messenger-platform/reference/send-api#errors
 * @see https://developers.facebook.com/docs/graph-api/guides/error-handling#errorcodes
 */
export const classifyGraphError = (httpStatus: number, body: GraphErrorBody | undefined, headers?: Headers): ProviderError => {
  const error = body?.error;
  const code = error?.code;
  const subcode = error?.error_subcode;
  const codeText = code === undefined ? String(httpStatus) : subcode === undefined ? String(code) : `${code}/${subcode}`;
  const message = error?.message ?? `HTTP ${httpStatus}`;
  if (subcode !== undefined && OUTSIDE_WINDOW_SUBCODES.has(subcode)) return new PermanentProviderError(message, codeText);
  if (code === 551 || (subcode !== undefined && UNREACHABLE_SUBCODES.has(subcode))) {
    return new PermanentProviderError(message, codeText, true);
  }
  if ((code !== undefined && RATE_LIMIT_CODES.has(code)) || httpStatus === 429) {
    return new RateLimitedError(message, retryAfterSeconds(headers), codeText);
  }
  if (code === 190 || (code === undefined && httpStatus === 401)) return new AuthenticationError(message, codeText);
  if ((code !== undefined && TRANSIENT_CODES.has(code)) || httpStatus >= 500) return new RetryableProviderError(message, codeText);
  return new InvalidRequestError(message, codeText);
};

export interface GraphCall {
  readonly apiBaseUrl: string;
  /** Below the version, e.g. `me/messages`. */
  readonly path: string;
  readonly accessToken: string | undefined;
  readonly body: Readonly<Record<string, unknown>>;
  readonly fetch: typeof globalThis.fetch;
  /** For messages: "Messenger send", "Instagram send". */
  readonly what: string;
  readonly timeoutMs?: number;
}

/**
 * POSTs a JSON body to `<base>/<version>/<path>` and returns the parsed JSON answer. Throws a
 * {@link ProviderError}: network failures and timeouts are retryable, refusals are classified by
 * {@link classifyGraphError}.
 */
export const callGraph = async (call: GraphCall): Promise<unknown> => {
  if (!call.accessToken) throw new AuthenticationError(`${call.what}: access token is not configured`);
  const timeoutMs = call.timeoutMs ?? GRAPH_TIMEOUT_MS;
  const url = `${call.apiBaseUrl.replace(/\/+$/, '')}/${GRAPH_API_VERSION}/${call.path}`;
  const { response, json } = await postJson({
    what: call.what,
    url,
    body: call.body,
    headers: { authorization: `Bearer ${call.accessToken}` },
    timeoutMs,
    fetch: call.fetch,
  });
  if (response.ok) {
    if (json === undefined) {
      // Not Graph's answer: a proxy or a truncated body. Meta may or may not have sent the message.
      throw new RetryableProviderError(`${call.what} answered HTTP ${response.status} with an unreadable body`);
    }
    return json;
  }
  const parsed = GraphErrorBodySchema.safeParse(json);
  throw classifyGraphError(response.status, parsed.success ? parsed.data : undefined, response.headers);
};
