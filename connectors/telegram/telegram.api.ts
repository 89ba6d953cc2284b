/**
 * One Bot API call, and the translation of its failures into Parley's provider errors.
 * The bot token is part of every request URL, so neither the URL nor anything that could contain it is
 * ever put in an error message.
 * @see https://core.telegram.org/bots/api#making-requests
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

/** How long one call may take before it is abandoned and retried later. */
export const TELEGRAM_TIMEOUT_MS = 10_000;

/** Wait used when a 429 names no `retry_after` (it always should). */
const DEFAULT_RETRY_AFTER_SECONDS = 5;

/**
 * Every answer is `{ok: true, result}` or `{ok: false, error_code, description, parameters?}`.
 * @see https://core.telegram.org/bots/api#making-requests
 * @see https://core.telegram.org/bots/api#responseparameters
 */
const TelegramResponseSchema = z.looseObject({
  ok: z.boolean(),
  result: z.unknown().optional(),
  error_code: z.int().optional(),
  description: z.string().optional(),
  parameters: z.looseObject({ retry_after: z.number().nonnegative().optional(), migrate_to_chat_id: z.int().optional() }).optional(),
});
export type TelegramErrorResponse = z.infer<typeof TelegramResponseSchema>;

/** The bot's id: the digits before the colon of its token. @see https://core.telegram.org/bots/api#authorizing-your-bot */
export const botIdOf = (botToken: string | undefined): string | undefined => /^(\d+):/.exec(botToken ?? '')?.[1];

/**
 * The error a failed call means, from the HTTP status and the body Telegram (or a proxy in front of it)
 * answered. The provider's `error_code` is kept as `code` and its `description` as the message.
 * @see https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
 */
export const classifyTelegramError = (httpStatus: number, body: TelegramErrorResponse | undefined): ProviderError => {
  const status = body?.error_code ?? httpStatus;
  const code = String(status);
  const description = body?.description ?? `HTTP ${httpStatus}`;
  if (status === 429) {
    const fromBody = body?.parameters?.retry_after;
    const fromText = /retry after (\d+)/i.exec(description)?.[1];
    const seconds = fromBody ?? (fromText === undefined ? DEFAULT_RETRY_AFTER_SECONDS : Number(fromText));
    return new RateLimitedError(description, seconds, code);
  }
  if (status >= 500) return new RetryableProviderError(description, code);
  // 401 is a revoked or wrong token; 404 is what Telegram answers when the token in the path is malformed
  // (every method Parley calls exists).
  if (status === 401 || status === 404) return new AuthenticationError(description, code);
  // Blocked by the user, deactivated, kicked from the group: nothing will reach this chat.
  if (status === 403) return new PermanentProviderError(description, code, true);
  if (status === 400) {
    const migratedTo = body?.parameters?.migrate_to_chat_id;
    if (migratedTo !== undefined) {
      return new PermanentProviderError(`${description} (migrated to chat ${migratedTo})`, code, true);
    }
    if (/chat not found/i.test(description)) return new PermanentProviderError(description, code, true);
  }
  return new InvalidRequestError(description, code);
};

/**
 * Calls a Bot API method with a JSON body and returns its `result`. Throws a {@link ProviderError}:
 * network failures and timeouts are retryable, and API refusals are classified by
 * {@link classifyTelegramError}.
 */
export const callTelegram = async (
  method: string,
  params: Readonly<Record<string, unknown>>,
  context: Pick<SendContext, 'apiBaseUrl' | 'credentials' | 'fetch'>,
  timeoutMs: number = TELEGRAM_TIMEOUT_MS,
): Promise<unknown> => {
  const token = context.credentials['botToken'];
  if (!token) throw new AuthenticationError('Telegram bot token is not configured');
  const url = `${context.apiBaseUrl.replace(/\/+$/, '')}/bot${token}/${method}`;
  const { response, json } = await postJson({ what: `Telegram ${method}`, url, body: params, timeoutMs, fetch: context.fetch });
  const parsed = TelegramResponseSchema.safeParse(json);
  const body = parsed.success ? parsed.data : undefined;
  if (body?.ok === true && response.ok) return body.result;
  if (body === undefined && response.ok) {
    // Not the Bot API's envelope: a proxy or a truncated answer. Telegram may or may not have acted.
    throw new RetryableProviderError(`Telegram ${method} answered HTTP ${response.status} with an unreadable body`);
  }
  throw classifyTelegramError(response.status, body);
};
