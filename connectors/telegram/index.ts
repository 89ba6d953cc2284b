/**
 * The Telegram Bot API connector: a webhook with a secret header, one `Update` per request, and a JSON
 * Bot API for sending.
 * @see https://core.telegram.org/bots/api
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Connector } from '../connector.ts';
import { botIdOf } from './telegram.api.ts';
import { downloadTelegramFile } from './telegram.media.ts';
import { normalizeTelegramUpdate } from './telegram.normalize.ts';
import { createTelegramSandbox } from './telegram.sandbox.ts';
import { parseTelegramUpdate, type TelegramUpdate } from './telegram.schema.ts';
import { telegramSender } from './telegram.sender.ts';
import { verifyTelegramWebhook } from './telegram.verify.ts';

export type { TelegramUpdate } from './telegram.schema.ts';

/**
 * Credentials: `webhookSecret` (the `secret_token` given to setWebhook) verifies inbound requests;
 * `botToken` sends, and names the account: a token is `<bot id>:<secret>`.
 */
export const telegramConnector: Connector<TelegramUpdate> = {
  channel: 'telegram',
  defaultApiBaseUrl: 'https://api.telegram.org',
  credentialNames: { inbound: ['webhookSecret'], outbound: ['botToken'] },
  environment: {
    credentials: { webhookSecret: 'TELEGRAM_WEBHOOK_SECRET', botToken: 'TELEGRAM_BOT_TOKEN' },
    apiBaseUrl: 'TELEGRAM_API_BASE_URL',
  },
  // Shaped like the real thing: a secret_token of [A-Za-z0-9_-], and a token `<bot id>:<35 chars>`.
  devCredentials: () => ({
    webhookSecret: randomBytes(24).toString('base64url'),
    botToken: `${randomInt(1_000_000_000, 9_999_999_999)}:${randomBytes(27).toString('base64url').slice(0, 35)}`,
  }),
  accountIdOf: (credentials) => botIdOf(credentials['botToken']),
  verify: verifyTelegramWebhook,
  parse: parseTelegramUpdate,
  normalize: normalizeTelegramUpdate,
  sender: telegramSender,
  downloadMedia: downloadTelegramFile,
  sandbox: createTelegramSandbox(),
};
