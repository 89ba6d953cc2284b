/**
 * The Telegram connector's inbound part: its accounts and webhook protocol, and nothing the webhook function
 * does not run (the sender, media downloads, development credentials, the sandbox), so its bundle stays lean.
 */
import type { InboundConnector } from '../connector.ts';
import { TELEGRAM_ACCOUNT } from './telegram.account.ts';
import { normalizeTelegramUpdate } from './telegram.normalize.ts';
import { parseTelegramUpdate, type TelegramUpdate } from './telegram.schema.ts';
import { verifyTelegramWebhook } from './telegram.verify.ts';

export const TELEGRAM_INBOUND: InboundConnector<TelegramUpdate> = {
  ...TELEGRAM_ACCOUNT,
  verify: verifyTelegramWebhook,
  parse: parseTelegramUpdate,
  normalize: normalizeTelegramUpdate,
};
