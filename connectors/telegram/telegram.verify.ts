import { createHash, timingSafeEqual } from 'node:crypto';
import type { WebhookRequest } from '../connector.ts';
import type { Credentials } from '../../domain/ports.ts';

/** The header Telegram sets to the `secret_token` given to setWebhook. Header names arrive lower-cased. */
export const TELEGRAM_SECRET_HEADER = 'x-telegram-bot-api-secret-token';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * True when the request carries the configured webhook secret. Telegram sends the secret itself, not an
 * HMAC, so the comparison must be constant-time; hashing both sides first gives equal-length buffers, so a
 * secret of another length neither throws in `timingSafeEqual` nor returns early and leaks the length.
 * No configured secret means nothing can be verified: refused, never accepted by default.
 * @see https://core.telegram.org/bots/api#setwebhook
 */
export const verifyTelegramWebhook = (request: WebhookRequest, credentials: Credentials): boolean => {
  // No try/catch: past this guard nothing can throw (two strings, two 32-byte digests), and a catch would
  // hide a broken guard behind the same `false` (mutation testing showed it did).
  const expected = credentials['webhookSecret'];
  const given = request.headers[TELEGRAM_SECRET_HEADER];
  if (!expected || typeof given !== 'string') return false;
  return timingSafeEqual(digest(given), digest(expected));
};
