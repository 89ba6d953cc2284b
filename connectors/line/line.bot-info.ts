/**
 * Which bot a LINE channel's credentials belong to. A channel secret names no bot, so a webhook body's
 * `destination` (the bot's user id) cannot be checked against it; the channel access token can ask LINE:
 * `GET /v2/bot/info` answers the bot's `userId`, the very id webhooks carry as `destination`.
 * @see https://developers.line.biz/en/reference/messaging-api/#get-bot-info
 * @see https://developers.line.biz/en/reference/messaging-api/#request-body (destination)
 */
import * as z from 'zod';
import { InvalidRequestError } from '../../domain/provider-errors.ts';
import type { AccountContext, Credentials } from '../connector.ts';
import { networkFailure, tryParseJson } from '../http.ts';
import { classifyLineError, LINE_TIMEOUT_MS } from './line.api.ts';

export const LINE_BOT_INFO_PATH = '/v2/bot/info';

/** A bot's user id, which is what LINE's `destination` is. */
export const LINE_BOT_USER_ID = /^U[0-9a-f]{32}$/;

/** The part of `BotInfoResponse` Parley reads; LINE adds fields freely. */
const BotInfoSchema = z.looseObject({ userId: z.string().regex(LINE_BOT_USER_ID) });

/**
 * The bot user id of the channel whose access token the credentials hold, or undefined when they hold none
 * (a channel configured for webhooks only cannot tell). Throws a provider error otherwise: an
 * `AuthenticationError` for a token LINE refuses, a retryable one when LINE could not be reached.
 */
export const resolveLineBotUserId = async (credentials: Credentials, context: AccountContext): Promise<string | undefined> => {
  const token = credentials['channelAccessToken'];
  if (!token) return undefined;
  const url = `${context.apiBaseUrl.replace(/\/+$/, '')}${LINE_BOT_INFO_PATH}`;
  let response: Response;
  let text: string;
  try {
    response = await context.fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(LINE_TIMEOUT_MS) });
    text = await response.text();
  } catch (error) {
    throw networkFailure(`LINE ${LINE_BOT_INFO_PATH}`, error, LINE_TIMEOUT_MS);
  }
  const json = tryParseJson(text);
  if (!response.ok) {
    const body = z.looseObject({ message: z.string().optional() }).safeParse(json);
    throw classifyLineError(response.status, body.success ? body.data : undefined, response.headers.get('retry-after'));
  }
  const info = BotInfoSchema.safeParse(json);
  if (!info.success) throw new InvalidRequestError(`LINE ${LINE_BOT_INFO_PATH} answered without a bot user id`);
  return info.data.userId;
};
