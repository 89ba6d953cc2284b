/**
 * The Telegram Bot API connector: a webhook with a secret header, one `Update` per request, and a JSON
 * Bot API for sending.
 * @see https://core.telegram.org/bots/api
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Connector } from '../connector.ts';
import { TELEGRAM_INBOUND } from './telegram.inbound.ts';
import { downloadTelegramFile } from './telegram.media.ts';
import { createTelegramSandbox } from './telegram.sandbox.ts';
import type { TelegramUpdate } from './telegram.schema.ts';
import { telegramSender } from './telegram.sender.ts';

export type { TelegramUpdate } from './telegram.schema.ts';

/**
 * Credentials: `webhookSecret` (the `secret_token` given to setWebhook) verifies inbound requests;
 * `botToken` sends, and names the account: a token is `<bot id>:<secret>`.
 */
export const telegramConnector: Connector<TelegramUpdate> = {
  ...TELEGRAM_INBOUND,
  // Shaped like the real thing: a secret_token of [A-Za-z0-9_-], and a token `<bot id>:<35 chars>`.
  devCredentials: () => ({
    webhookSecret: randomBytes(24).toString('base64url'),
    botToken: `${randomInt(1_000_000_000, 9_999_999_999)}:${randomBytes(27).toString('base64url').slice(0, 35)}`,
  }),
  sender: telegramSender,
  downloadMedia: downloadTelegramFile,
  sandbox: createTelegramSandbox(),
};
