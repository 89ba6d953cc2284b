/**
 * The two calls Parley makes to Kakao: the Event API (the bot speaks first, paid per message) and the POST
 * of a full SkillResponse to a skill call's one-minute callback URL. Both answer `{taskId, status, message?}`,
 * where `status: "SUCCESS"` means only that Kakao accepted the request. Neither the REST API key nor a
 * callback URL (which is a bearer token for one answer) is ever put in an error message.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/main_notions/event-api
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/ai_chatbot_callback_guide
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

/** The Kakao chatbot API origin (Event API, and the usual host of callback URLs). */
export const KAKAO_DEFAULT_API_BASE_URL = 'https://bot-api.kakao.com';

/** How long one call may take. A callback has a minute in all, so this stays well under it. */
export const KAKAO_TIMEOUT_MS = 10_000;

/** Wait used when a 429 names no `Retry-After`. */
const DEFAULT_RETRY_AFTER_SECONDS = 5;

/**
 * `{taskId, status, message?, timestamp?}`. The shape of refusals is not documented; `message` or
 * `errorMessage` is read when present.
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/main_notions/event-api
 */
const KakaoTaskResponseSchema = z.looseObject({
  taskId: z.string().optional(),
  status: z.string().optional(),
  message: z.string().optional(),
  errorMessage: z.string().optional(),
  code: z.union([z.string(), z.number()]).optional(),
});
export type KakaoTaskResponse = z.infer<typeof KakaoTaskResponseSchema>;

const retryAfterSeconds = (header: string | null): number => {
  const seconds = Number(header);
  return header !== null && Number.isFinite(seconds) && seconds >= 0 ? seconds : DEFAULT_RETRY_AFTER_SECONDS;
};

/**
 * The error a refused call means, from the HTTP status (Kakao documents no error codes for these APIs).
 * 401/403 are a wrong or unauthorized REST API key, or an Event API not enabled for the bot.
 */
export const classifyKakaoError = (
  what: string,
  httpStatus: number,
  body: KakaoTaskResponse | undefined,
  retryAfter: string | null = null,
): ProviderError => {
  const detail = body?.message ?? body?.errorMessage ?? `HTTP ${httpStatus}`;
  const description = `${what}: ${detail}`;
  const code = body?.code !== undefined ? String(body.code) : String(httpStatus);
  if (httpStatus === 429) return new RateLimitedError(description, retryAfterSeconds(retryAfter), code);
  if (httpStatus >= 500) return new RetryableProviderError(description, code);
  if (httpStatus === 401 || httpStatus === 403) return new AuthenticationError(description, code);
  return new InvalidRequestError(description, code);
};

/**
 * POSTs JSON and returns Kakao's task answer when it says SUCCESS. A 2xx whose status is anything else is a
 * permanent refusal (the same request will be refused again); a 2xx with an unreadable body is retryable,
 * since Kakao may or may not have acted.
 */
export const postKakao = async (
  what: string,
  url: string,
  body: unknown,
  headers: Readonly<Record<string, string>>,
  context: Pick<SendContext, 'fetch'>,
): Promise<KakaoTaskResponse> => {
  const { response, json } = await postJson({ what, url, body, headers, timeoutMs: KAKAO_TIMEOUT_MS, fetch: context.fetch });
  const parsed = KakaoTaskResponseSchema.safeParse(json);
  const answer = parsed.success ? parsed.data : undefined;
  if (!response.ok) throw classifyKakaoError(what, response.status, answer, response.headers.get('retry-after'));
  if (answer === undefined) {
    throw new RetryableProviderError(`${what} answered HTTP ${response.status} with an unreadable body`);
  }
  if (answer.status !== undefined && answer.status.toUpperCase() !== 'SUCCESS') {
    throw new PermanentProviderError(`${what}: ${answer.status}${answer.message ? ` (${answer.message})` : ''}`, answer.status);
  }
  return answer;
};

/** `POST /v2/bots/{botId}/talk` with `Authorization: KakaoAK {REST API key}`. */
export const eventApiUrl = (apiBaseUrl: string, botId: string): string =>
  `${apiBaseUrl.replace(/\/+$/, '')}/v2/bots/${encodeURIComponent(botId)}/talk`;

/** Kakao's own hosts; a callback URL anywhere else is not Kakao's and is never called. */
const isKakaoHost = (hostname: string): boolean => hostname === 'kakao.com' || hostname.endsWith('.kakao.com');

/**
 * Where to POST a callback: the URL Kakao gave, which must be https on a kakao.com host (the URL comes from a
 * request body, and Parley must not be made to POST elsewhere). When the API base is overridden (tests, the
 * local sandbox), its scheme and host replace the callback's, as for every other provider call.
 * Undefined when the URL is not acceptable.
 */
export const callbackTarget = (callbackUrl: string, apiBaseUrl: string): string | undefined => {
  let url: URL;
  try {
    url = new URL(callbackUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' || !isKakaoHost(url.hostname) || url.username !== '' || url.password !== '') return undefined;
  const base = apiBaseUrl.replace(/\/+$/, '');
  if (base === KAKAO_DEFAULT_API_BASE_URL) return url.href;
  return `${base}${url.pathname}${url.search}`;
};
