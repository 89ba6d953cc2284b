import { describe, expect, it } from 'vitest';
import type { WebhookRequest } from '../../../connectors/connector.ts';
import { telegramConnector } from '../../../connectors/telegram/index.ts';

const SECRET = 'test-secret_Parley-0123456789';

const request = (headers: Record<string, string | undefined>): WebhookRequest => ({
  method: 'POST',
  headers,
  query: {},
  rawBody: Buffer.from('{"update_id":1}'),
});
const withSecret = (secret: string | undefined) => request({ 'x-telegram-bot-api-secret-token': secret });

describe('telegram verify', () => {
  it('accepts the configured secret', () => {
    expect(telegramConnector.verify(withSecret(SECRET), { webhookSecret: SECRET })).toBe(true);
  });

  it('refuses a wrong secret of the same length', () => {
    const wrong = `${SECRET.slice(0, -1)}X`;
    expect(wrong).toHaveLength(SECRET.length);
    expect(telegramConnector.verify(withSecret(wrong), { webhookSecret: SECRET })).toBe(false);
  });

  it('refuses a secret that differs only in length, without throwing', () => {
    expect(telegramConnector.verify(withSecret(`${SECRET}0`), { webhookSecret: SECRET })).toBe(false);
    expect(telegramConnector.verify(withSecret(SECRET.slice(0, -1)), { webhookSecret: SECRET })).toBe(false);
  });

  it('refuses a request without the header, or with an empty one', () => {
    expect(telegramConnector.verify(request({}), { webhookSecret: SECRET })).toBe(false);
    expect(telegramConnector.verify(withSecret(''), { webhookSecret: SECRET })).toBe(false);
  });

  it('refuses everything when no secret is configured, even a matching empty header', () => {
    expect(telegramConnector.verify(withSecret(SECRET), {})).toBe(false);
    expect(telegramConnector.verify(withSecret(''), { webhookSecret: '' })).toBe(false);
    expect(telegramConnector.verify(withSecret(SECRET), { botToken: '7712345678:AAtest' })).toBe(false);
  });

  it('reads only the lower-cased header name the handler provides', () => {
    expect(telegramConnector.verify(request({ 'X-Telegram-Bot-Api-Secret-Token': SECRET }), { webhookSecret: SECRET })).toBe(false);
  });
});
